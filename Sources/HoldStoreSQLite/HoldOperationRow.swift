import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `HoldOperation` maps to a row of `hold_operations`.
enum HoldOperationRow {
    static let columns = """
        key, hold_id, kind, amount, state, response_body, created_at, updated_at
        """

    static let insert = "INSERT INTO hold_operations (\(columns)) VALUES (\(placeholders(8)))"
    static let selectByKey = "SELECT \(columns) FROM hold_operations WHERE key = ?"
    /// The one the partial unique index allows per hold.
    static let selectLiveForHold = """
        SELECT \(columns) FROM hold_operations WHERE hold_id = ? AND state IN ('pending', 'succeeded')
        """
    static let selectPending = """
        SELECT \(columns) FROM hold_operations WHERE state = 'pending' ORDER BY created_at, key
        """
    static let markSucceeded = """
        UPDATE hold_operations SET state = 'succeeded', response_body = ?, updated_at = ? WHERE key = ?
        """
    static let markFailed = """
        UPDATE hold_operations SET state = 'failed', response_body = ?, updated_at = ? WHERE key = ?
        """

    static func binds(for operation: HoldOperation) -> [SQLiteData] {
        [
            .text(operation.key),
            .text(operation.holdID),
            .text(operation.kind.rawValue),
            SQLiteData(operation.amount),
            .text(operation.state.rawValue),
            operation.state == .failed ? StoredOutcome.bind(operation.failure) : StoredOutcome.bind(operation.receipt),
            SQLiteData(operation.createdAt),
            SQLiteData(operation.updatedAt),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> HoldOperation {
        try RowReader(row: row, table: "hold_operations", keyColumn: "key").holdOperation()
    }
}
