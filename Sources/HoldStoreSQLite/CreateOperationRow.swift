import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `CreateOperation` maps to a row of `create_operations`.
enum CreateOperationRow {
    static let columns = """
        key, client, client_idempotency_key, request_hash, params, tier, tier_limit, policy_revision, \
        property_id, tenant_id, state, hold_id, failure_body, created_at, updated_at, client_metadata
        """

    static let insert = "INSERT INTO create_operations (\(columns)) VALUES (\(placeholders(16)))"
    static let selectByKey = "SELECT \(columns) FROM create_operations WHERE key = ?"
    static let selectByClientKey = """
        SELECT \(columns) FROM create_operations WHERE client = ? AND client_idempotency_key = ?
        """
    static let selectPending = """
        SELECT \(columns) FROM create_operations WHERE state = 'pending' ORDER BY created_at, key
        """
    static let markFailed = """
        UPDATE create_operations SET state = 'failed', failure_body = ?, updated_at = ? WHERE key = ?
        """
    /// Failed, but with the intent Stripe made (and refused) recorded as its hold.
    static let markRefused = """
        UPDATE create_operations SET state = 'failed', hold_id = ?, failure_body = ?, updated_at = ? WHERE key = ?
        """
    /// Only a pending operation; `RETURNING` says whether it was.
    static let markSucceeded = """
        UPDATE create_operations SET state = 'succeeded', hold_id = ?, updated_at = ? WHERE key = ? AND state = 'pending' \
        RETURNING key
        """

    static func binds(for operation: CreateOperation) throws -> [SQLiteData] {
        [
            .text(operation.key),
            .text(operation.client),
            SQLiteData(operation.clientIdempotencyKey),
            .text(operation.requestHash),
            .text(String(decoding: operation.params.storedJSON, as: UTF8.self)),
            .text(operation.tier),
            .integer(operation.tierLimit),
            .text(operation.policyRevision),
            SQLiteData(operation.propertyID),
            SQLiteData(operation.tenantID),
            .text(operation.state.rawValue),
            SQLiteData(operation.holdID),
            StoredOutcome.bind(operation.failure),
            SQLiteData(operation.createdAt),
            SQLiteData(operation.updatedAt),
            SQLiteData(BookingEventColumns.encodeMetadata(operation.clientMetadata)),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> CreateOperation {
        try RowReader(row: row, table: "create_operations", keyColumn: "key").createOperation()
    }
}
