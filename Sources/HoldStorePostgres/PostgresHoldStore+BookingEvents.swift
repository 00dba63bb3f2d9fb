import ChittyCharge
import HoldStoreColumns
import PostgresNIO

/// How a `BookingEvent` maps to a row of `booking_events`.
enum PostgresBookingEventRow {
    static let columns = "hold_id, event_id, type, occurred_at, details, client, received_at, outcome"
    static let insertIfNew = """
        INSERT INTO booking_events (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
        ON CONFLICT (hold_id, event_id) DO NOTHING RETURNING hold_id
        """
    static let selectOne = "SELECT \(columns) FROM booking_events WHERE hold_id = $1 AND event_id = $2"
    static let selectByHold = "SELECT \(columns) FROM booking_events WHERE hold_id = $1 ORDER BY seq"
    static let selectWithoutOutcome = """
        SELECT \(columns) FROM booking_events WHERE outcome IS NULL ORDER BY received_at, seq LIMIT $1
        """
    /// The first outcome set wins; either way the stored row comes back.
    static let setOutcomeIfNone = """
        WITH updated AS (
            UPDATE booking_events SET outcome = $3 WHERE hold_id = $1 AND event_id = $2 AND outcome IS NULL RETURNING \(columns)
        )
        SELECT \(columns) FROM updated UNION ALL SELECT \(columns) FROM booking_events \
        WHERE hold_id = $1 AND event_id = $2 AND NOT EXISTS (SELECT 1 FROM updated)
        """

    static func values(for event: BookingEvent) -> [PostgresValue] {
        [
            .text(event.holdID), .text(event.eventID), .text(event.kind.rawValue), .date(event.occurredAt),
            .text(BookingEventColumns.encodeDetails(event.details)), .text(event.client), .date(event.receivedAt),
            .text(event.outcome.map(BookingEventColumns.encodeOutcome)),
        ]
    }

    static func decode(_ row: PostgresRow) throws -> BookingEvent {
        try PostgresRowReader(row, table: "booking_events", keyColumn: "event_id").bookingEvent()
    }
}

extension PostgresHoldStore {
    public func recordBookingEvent(_ event: BookingEvent) async throws -> (stored: BookingEvent, inserted: Bool) {
        let values = PostgresBookingEventRow.values(for: event)
        return try await writeStatement("recordBookingEvent") { db in
            do {
                if try await !db.rows(PostgresBookingEventRow.insertIfNew, values, logger: self.logger).isEmpty { return (event, true) }
            } catch where Self.sqlState(of: error) == "23503" {
                throw HoldStoreError.notFound("hold \(event.holdID)")
            }
            guard let row = try await db.rows(PostgresBookingEventRow.selectOne, [.text(event.holdID), .text(event.eventID)], logger: self.logger).first else {
                throw HoldStoreError.database("booking event \(event.eventID) of \(event.holdID) vanished")
            }
            return (try PostgresBookingEventRow.decode(row), false)
        }
    }

    public func setBookingEventOutcome(_ outcome: BookingEventOutcome, holdID: String, eventID: String) async throws -> BookingEventOutcome {
        let values: [PostgresValue] = [.text(holdID), .text(eventID), .text(BookingEventColumns.encodeOutcome(outcome))]
        return try await writeStatement("setBookingEventOutcome") { db in
            guard let row = try await db.rows(PostgresBookingEventRow.setOutcomeIfNone, values, logger: self.logger).first,
                  let stored = try PostgresBookingEventRow.decode(row).outcome else {
                throw HoldStoreError.notFound("booking event \(eventID) of \(holdID)")
            }
            return stored
        }
    }

    public func bookingEvents(holdID: String) async throws -> [BookingEvent] {
        try await read("bookingEvents(holdID:)") { db in
            try await db.rows(PostgresBookingEventRow.selectByHold, [.text(holdID)], logger: self.logger).map(PostgresBookingEventRow.decode)
        }
    }

    public func bookingEventsWithoutOutcome(limit: Int) async throws -> [BookingEvent] {
        try await read("bookingEventsWithoutOutcome") { db in
            try await db.rows(PostgresBookingEventRow.selectWithoutOutcome, [.integer(limit)], logger: self.logger).map(PostgresBookingEventRow.decode)
        }
    }
}
