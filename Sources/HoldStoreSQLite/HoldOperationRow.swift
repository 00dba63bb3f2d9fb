import ChittyCharge
import SQLiteNIO

/// How a `HoldOperation` maps to a row of `hold_operations`.
enum HoldOperationRow {
    static let columns = """
        key, hold_id, kind, amount, state, response_status, response_body, created_at, updated_at
        """

    static let insert = "INSERT INTO hold_operations (\(columns)) VALUES (\(placeholders(9)))"
    static let selectByKey = "SELECT \(columns) FROM hold_operations WHERE key = ?"
    /// The one the partial unique index allows per hold.
    static let selectLiveForHold = """
        SELECT \(columns) FROM hold_operations WHERE hold_id = ? AND state IN ('pending', 'succeeded')
        """
    static let selectPending = """
        SELECT \(columns) FROM hold_operations WHERE state = 'pending' ORDER BY created_at, key
        """
    static let markSucceeded = """
        UPDATE hold_operations SET state = 'succeeded', response_status = ?, response_body = ?, updated_at = ? \
        WHERE key = ?
        """
    static let markFailed = """
        UPDATE hold_operations SET state = 'failed', response_status = ?, response_body = ?, updated_at = ? \
        WHERE key = ?
        """

    static func binds(for operation: HoldOperation) -> [SQLiteData] {
        [
            .text(operation.key),
            .text(operation.holdID),
            .text(operation.kind.rawValue),
            SQLiteData(operation.amount),
            .text(operation.state.rawValue),
            SQLiteData(operation.response?.status),
            SQLiteData(operation.response?.body),
            SQLiteData(operation.createdAt),
            SQLiteData(operation.updatedAt),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> HoldOperation {
        let column = RowReader(row: row, table: "hold_operations", keyColumn: "key")
        return HoldOperation(
            key: try column.string("key"),
            holdID: try column.string("hold_id"),
            kind: try column.raw(HoldOperationKind.self, "kind"),
            amount: try column.optionalInt("amount"),
            state: try column.raw(OperationState.self, "state"),
            response: try column.optionalResponse("response"),
            createdAt: try column.date("created_at"),
            updatedAt: try column.date("updated_at")
        )
    }
}
