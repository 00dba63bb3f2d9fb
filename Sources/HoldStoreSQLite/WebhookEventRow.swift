import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `WebhookEventRecord` maps to a row of `webhook_events`.
enum WebhookEventRow {
    static let columns = "id, type, created_at, payload, hold_id, outcome, received_at"

    /// Returns the id when inserted, no row when the event was recorded before.
    static let insertIfNew = """
        INSERT INTO webhook_events (\(columns)) VALUES (\(placeholders(7))) ON CONFLICT (id) DO NOTHING RETURNING id
        """
    /// Ties in Stripe's time keep the order of arrival.
    static let selectByHold = """
        SELECT \(columns) FROM webhook_events WHERE hold_id = ? ORDER BY created_at, rowid
        """

    static func binds(for event: WebhookEventRecord) -> [SQLiteData] {
        [
            .text(event.id),
            .text(event.type),
            SQLiteData(event.created),
            SQLiteData(event.payload),
            SQLiteData(event.holdID),
            .text(event.outcome.rawValue),
            SQLiteData(event.receivedAt),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> WebhookEventRecord {
        try RowReader(row: row, table: "webhook_events", keyColumn: "id").webhookEvent()
    }
}
