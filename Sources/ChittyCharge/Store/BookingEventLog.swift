import Foundation

/// What happened to the stay behind each hold, once per (hold, event id).
public protocol BookingEventLog: Sendable {
    /// Records the event unless one with its hold and event id exists; returns the event
    /// now stored under that id (the given one, or the first one: compare to tell a retry
    /// from a conflict).
    func recordBookingEvent(_ event: BookingEvent) async throws -> (stored: BookingEvent, inserted: Bool)
    /// Sets the event's outcome if it has none yet; returns the outcome now stored (the
    /// first one set wins, so every answer for one event id is the same).
    func setBookingEventOutcome(_ outcome: BookingEventOutcome, holdID: String, eventID: String) async throws -> BookingEventOutcome
    /// One hold's events in arrival order.
    func bookingEvents(holdID: String) async throws -> [BookingEvent]
    /// Events recorded but never answered (the process stopped in between), oldest first.
    func bookingEventsWithoutOutcome(limit: Int) async throws -> [BookingEvent]
}
