import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    public func setScheduledAction(_ action: ScheduledAction?, holdID: String) async throws {
        let binds = HoldRow.scheduleBinds(action, holdID: holdID)
        defer { holdCache.invalidate(id: holdID) }
        try await writeStatement("setScheduledAction") { db in
            if try await db.rows(HoldRow.setSchedule, binds).isEmpty {
                throw HoldStoreError.notFound("hold \(holdID)")
            }
        }
    }

    public func claimScheduledAction(_ action: ScheduledAction, holdID: String, lease: ScheduledAction.Lease, at now: Date) async throws -> Bool {
        let binds: [SQLiteData] = [
            .text(holdID), .text(action.kind.rawValue), SQLiteData(action.at), SQLiteData(action.amount), .text(action.revision),
            .text(lease.owner), SQLiteData(lease.until), SQLiteData(now),
        ]
        defer { holdCache.invalidate(id: holdID) }
        return try await writeStatement("claimScheduledAction") { db in
            try await !db.rows(HoldRow.claimSchedule, binds).isEmpty
        }
    }

    public func finishScheduledAction(holdID: String, owner: String, outcome: WebhookEventRecord) async throws -> Bool {
        let eventBinds = WebhookEventRow.binds(for: outcome)
        defer { holdCache.invalidate(id: holdID) }
        return try await write("finishScheduledAction") { db in
            guard try await !db.rows(HoldRow.finishSchedule, [.text(holdID), .text(owner)]).isEmpty else { return false }
            try await db.execute(WebhookEventRow.insertIfNew, eventBinds)
            return true
        }
    }

    public func linkReplacement(oldHoldID: String, newHoldID: String) async throws {
        defer {
            holdCache.invalidate(id: oldHoldID)
            holdCache.invalidate(id: newHoldID)
        }
        try await write("linkReplacement") { db in
            for (sql, id, other) in [(HoldRow.setReplacedBy, oldHoldID, newHoldID), (HoldRow.setReplaces, newHoldID, oldHoldID)] {
                if try await db.rows(sql, [.text(id), .text(other)]).isEmpty {
                    throw HoldStoreError.notFound("hold \(id)")
                }
            }
        }
    }

    public func holdsWithDueActions(at now: Date, limit: Int) async throws -> [Hold] {
        try await read("holdsWithDueActions") { db in
            try await db.rows(HoldRow.selectDueActions, [SQLiteData(now), .integer(max(1, limit))]).map(HoldRow.decode)
        }
    }

    public func holdsWithPendingActions(notFrom revision: String, limit: Int) async throws -> [Hold] {
        try await read("holdsWithPendingActions") { db in
            try await db.rows(HoldRow.selectPendingActionsNotFrom, [.text(revision), .integer(max(1, limit))]).map(HoldRow.decode)
        }
    }
}
