import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

extension SQLiteHoldStore {
    public func recordBookingEvent(_ event: BookingEvent) async throws -> (stored: BookingEvent, inserted: Bool) {
        let binds = BookingEventRow.binds(for: event)
        return try await write("recordBookingEvent") { db in
            do {
                if try await !db.rows(BookingEventRow.insertIfNew, binds).isEmpty { return (event, true) }
            } catch let error as SQLiteError where error.isConstraintViolation {
                throw HoldStoreError.notFound("hold \(event.holdID)")
            }
            guard let row = try await db.rows(BookingEventRow.selectOne, [.text(event.holdID), .text(event.eventID)]).first else {
                throw HoldStoreError.database("booking event \(event.eventID) of \(event.holdID) vanished")
            }
            return (try BookingEventRow.decode(row), false)
        }
    }

    public func setBookingEventOutcome(_ outcome: BookingEventOutcome, holdID: String, eventID: String) async throws -> BookingEventOutcome {
        let encoded = BookingEventColumns.encodeOutcome(outcome)
        return try await write("setBookingEventOutcome") { db in
            try await db.execute(BookingEventRow.setOutcomeIfNone, [.text(holdID), .text(eventID), .text(encoded)])
            guard let row = try await db.rows(BookingEventRow.selectOne, [.text(holdID), .text(eventID)]).first,
                  let stored = try BookingEventRow.decode(row).outcome else {
                throw HoldStoreError.notFound("booking event \(eventID) of \(holdID)")
            }
            return stored
        }
    }

    public func bookingEvents(holdID: String) async throws -> [BookingEvent] {
        try await read("bookingEvents(holdID:)") { db in
            try await db.rows(BookingEventRow.selectByHold, [.text(holdID)]).map(BookingEventRow.decode)
        }
    }

    public func bookingEventsWithoutOutcome(limit: Int) async throws -> [BookingEvent] {
        try await read("bookingEventsWithoutOutcome") { db in
            try await db.rows(BookingEventRow.selectWithoutOutcome, [.integer(limit)]).map(BookingEventRow.decode)
        }
    }
}
