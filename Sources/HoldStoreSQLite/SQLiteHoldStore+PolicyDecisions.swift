import ChittyCharge
import SQLiteNIO

extension SQLiteHoldStore {
    public func recordDecision(_ record: PolicyDecisionRecord) async throws {
        let binds = PolicyDecisionRow.binds(for: record)
        try await writeStatement("recordDecision") { db in
            do {
                try await db.execute(PolicyDecisionRow.insert, binds)
            } catch let error as SQLiteError where error.isUniquenessViolation {
                throw HoldStoreError.conflict("policy decision \(record.id) is already recorded")
            }
        }
    }

    /// Oldest first; decisions made in the same millisecond keep their recording order.
    public func decisions(subject: String) async throws -> [PolicyDecisionRecord] {
        try await read("decisions(subject:)") { db in
            try await db.rows(PolicyDecisionRow.selectBySubject, [.text(subject)]).map(PolicyDecisionRow.decode)
        }
    }
}
