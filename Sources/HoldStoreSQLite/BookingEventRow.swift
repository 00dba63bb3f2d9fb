import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `BookingEvent` maps to a row of `booking_events`.
enum BookingEventRow {
    static let createTable = """
        CREATE TABLE booking_events (
            hold_id TEXT NOT NULL REFERENCES holds (id),
            event_id TEXT NOT NULL,
            type TEXT NOT NULL,
            occurred_at INTEGER NOT NULL,
            details TEXT NOT NULL,
            client TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            outcome TEXT,
            PRIMARY KEY (hold_id, event_id)
        ) STRICT
        """
    static let columns = "hold_id, event_id, type, occurred_at, details, client, received_at, outcome"

    static let insertIfNew = """
        INSERT INTO booking_events (\(columns)) VALUES (\(placeholders(8))) ON CONFLICT (hold_id, event_id) DO NOTHING RETURNING hold_id
        """
    static let selectOne = "SELECT \(columns) FROM booking_events WHERE hold_id = ? AND event_id = ?"
    static let selectByHold = "SELECT \(columns) FROM booking_events WHERE hold_id = ? ORDER BY rowid"
    static let selectWithoutOutcome = """
        SELECT \(columns) FROM booking_events WHERE outcome IS NULL ORDER BY received_at, rowid LIMIT ?
        """
    static let setOutcomeIfNone = """
        UPDATE booking_events SET outcome = ?3 WHERE hold_id = ?1 AND event_id = ?2 AND outcome IS NULL
        """

    static func binds(for event: BookingEvent) -> [SQLiteData] {
        [
            .text(event.holdID), .text(event.eventID), .text(event.kind.rawValue), SQLiteData(event.occurredAt),
            .text(BookingEventColumns.encodeDetails(event.details)), .text(event.client), SQLiteData(event.receivedAt),
            SQLiteData(event.outcome.map(BookingEventColumns.encodeOutcome)),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> BookingEvent {
        try RowReader(row: row, table: "booking_events", keyColumn: "event_id").bookingEvent()
    }
}
