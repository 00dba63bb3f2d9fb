import ChittyCharge
import SQLiteNIO

extension SQLiteHoldStore {
    public func recordPolicyActivation(_ record: PolicyRevisionRecord, keep: Int) async throws {
        let binds = try PolicyRevisionRow.binds(for: record)
        try await write("recordPolicyActivation") { db in
            try await db.execute(PolicyRevisionRow.upsert, binds)
            try await db.execute(PolicyRevisionRow.prune, [.integer(max(keep, 1))])
        }
    }

    public func policyRevisions(limit: Int) async throws -> [PolicyRevisionRecord] {
        try await read("policyRevisions(limit:)") { db in
            try await db.rows(PolicyRevisionRow.selectRecent, [.integer(limit)]).map(PolicyRevisionRow.decode)
        }
    }

    public func policyRevision(id: String) async throws -> PolicyRevisionRecord? {
        try await read("policyRevision(id:)") { db in
            try await db.rows(PolicyRevisionRow.selectByID, [.text(id)]).first.map(PolicyRevisionRow.decode)
        }
    }
}
