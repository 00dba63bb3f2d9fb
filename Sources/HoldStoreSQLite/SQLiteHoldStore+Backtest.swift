import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    /// One indexed range scan per page (`policy_decisions_by_time`), on a reader connection.
    public func decisions(since: Date?, after cursor: PolicyDecisionCursor?, limit: Int) async throws -> [PolicyDecisionRecord] {
        let limit = SQLiteData.integer(max(1, limit))
        let sql: String
        let binds: [SQLiteData]
        // A decision at or after `since` that is later in time than the cursor is after the
        // cursor, so whichever bound is later is the only one needed.
        if let cursor, since.map({ cursor.createdAt.unixMilliseconds >= $0.unixMilliseconds }) ?? true {
            sql = PolicyDecisionRow.selectInTimeOrderAfter
            binds = [SQLiteData(cursor.createdAt), .text(cursor.id), limit]
        } else if let since {
            sql = PolicyDecisionRow.selectInTimeOrderSince
            binds = [SQLiteData(since), limit]
        } else {
            sql = PolicyDecisionRow.selectInTimeOrder
            binds = [limit]
        }
        return try await read("decisions(since:after:limit:)") { db in
            try await db.rows(sql, binds).map(PolicyDecisionRow.decode)
        }
    }
}
