import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `PolicyDecisionRecord` maps to a row of `policy_decisions`.
enum PolicyDecisionRow {
    static let columns = "id, hook, revision, source, input, decision, subject, created_at"

    static let insert = "INSERT INTO policy_decisions (\(columns)) VALUES (\(placeholders(8)))"
    /// Ties in time keep the order they were recorded in.
    static let selectBySubject = """
        SELECT \(columns) FROM policy_decisions WHERE subject = ? ORDER BY created_at, rowid
        """

    // A backtest's pages, in (created_at, id) order. Each page has exactly one lower bound,
    // so SQLite starts its range scan of policy_decisions_by_time at the right place: with
    // two (the `since` and the cursor), it picked the first and re-read everything between
    // them on every page.
    static let selectInTimeOrder = "SELECT \(columns) FROM policy_decisions ORDER BY created_at, id LIMIT ?"
    static let selectInTimeOrderSince = """
        SELECT \(columns) FROM policy_decisions WHERE created_at >= ? ORDER BY created_at, id LIMIT ?
        """
    static let selectInTimeOrderAfter = """
        SELECT \(columns) FROM policy_decisions WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?
        """

    static func binds(for record: PolicyDecisionRecord) -> [SQLiteData] {
        [
            .text(record.id),
            .text(record.hook),
            .text(record.revision),
            .text(record.source),
            SQLiteData(record.input),
            SQLiteData(record.decision),
            SQLiteData(record.subject),
            SQLiteData(record.createdAt),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> PolicyDecisionRecord {
        try RowReader(row: row, table: "policy_decisions", keyColumn: "id").policyDecision()
    }
}
