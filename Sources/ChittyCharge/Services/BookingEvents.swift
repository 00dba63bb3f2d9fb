import Foundation
import Logging

/// Takes what the rental app says happened to a stay (`POST /api/holds/{id}/booking-events`):
/// records the event once per event id in the hold's history, then has `SchedulePlanner`
/// ask `hold_schedule` again with the booking's state, and keeps what that led to with the
/// event, so a repeat of the event answers the same. The event is durable before anything
/// is decided; an event recorded but not answered (a crash in between) is answered by the
/// repeat or by `answerUnanswered`, whichever comes first.
public struct BookingEvents: Sendable {
    public typealias Store = HoldRecords & BookingEventLog

    /// What the client is told: the event as first stored, the stay as it stands with it,
    /// and the action pending on the hold afterwards.
    public struct Receipt: Sendable, Equatable {
        public var event: BookingEvent
        public var booking: BookingState
        public var outcome: BookingEventOutcome
        /// True when the event id was seen before: the answer is the first one.
        public var replayed: Bool
    }

    let store: any Store
    let planner: SchedulePlanner
    let clock: any WallClock
    let logger: Logger

    public init(store: any Store, planner: SchedulePlanner, clock: any WallClock, logger: Logger) {
        self.store = store
        self.planner = planner
        self.clock = clock
        self.logger = logger
    }

    public func record(_ request: BookingEventRequest, holdID: String, client: String, access: HoldAccess,
                       logger requestLogger: Logger) async throws(HoldServiceError) -> Receipt {
        var logger = requestLogger
        logger[metadataKey: "hold.id"] = .string(holdID)
        do {
            guard let hold = try await store.hold(id: holdID), access.permits(hold) else { throw HoldServiceError.notFound(holdID: holdID) }
            let event = BookingEvent(
                holdID: holdID, eventID: request.eventID, kind: request.kind, occurredAt: request.occurredAt,
                // Whole milliseconds, what stores keep: a repeat then answers exactly the first.
                details: request.details, client: client,
                receivedAt: Date(timeIntervalSince1970: (clock.now().timeIntervalSince1970 * 1000).rounded(.down) / 1000))
            let (stored, inserted) = try await store.recordBookingEvent(event)
            if !inserted, !stored.sameContent(as: event) {
                throw HoldServiceError.conflict(
                    "Booking event '\(request.eventID)' was already recorded for this hold with another type, time or details; send a new event_id for a new event",
                    kind: .bookingEventConflict,
                    details: ["event_id": .string(stored.eventID), "type": .string(stored.kind.rawValue),
                              "occurred_at": .string(BookingTime.format(stored.occurredAt))])
            }
            let outcome: BookingEventOutcome
            if let answered = stored.outcome {
                outcome = answered
            } else {
                outcome = try await answer(stored, logger: logger)
            }
            let events = try await store.bookingEvents(holdID: holdID)
            // The stay as it was with this event: later events do not change its answer.
            let upToThis = events.prefix { $0.eventID != stored.eventID } + [stored]
            if inserted {
                logger.info("booking event recorded", metadata: [
                    "booking.event": .string(stored.kind.rawValue), "booking.event_id": .string(stored.eventID),
                    "schedule.action": .string(outcome.scheduledAction?.kind.rawValue ?? "none"),
                ])
            }
            var answeredEvent = stored
            answeredEvent.outcome = outcome
            return Receipt(event: answeredEvent, booking: BookingState(events: Array(upToThis)), outcome: outcome, replayed: !inserted)
        } catch let error as HoldServiceError {
            throw error
        } catch HoldStoreError.notFound {
            throw .notFound(holdID: holdID)
        } catch {
            throw .storage(error)
        }
    }

    /// Answers the events a stopped process recorded but never answered; returns how many.
    @discardableResult
    public func answerUnanswered(limit: Int = 100) async -> Int {
        do {
            let events = try await store.bookingEventsWithoutOutcome(limit: limit)
            for event in events {
                _ = try await answer(event, logger: logger)
            }
            if !events.isEmpty { logger.info("answered booking events left unanswered", metadata: ["count": "\(events.count)"]) }
            return events.count
        } catch {
            logger.error("could not answer unanswered booking events", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Asks `hold_schedule` again (the planner reads every event of the hold, this one
    /// included) and keeps the answer with the event; the first answer kept wins.
    private func answer(_ event: BookingEvent, logger: Logger) async throws -> BookingEventOutcome {
        guard let hold = try await store.hold(id: event.holdID) else { throw HoldStoreError.notFound("hold \(event.holdID)") }
        let outcome: BookingEventOutcome
        if hold.status == .requiresCapture {
            let pending = await planner.schedule(hold, logger: logger)
            outcome = BookingEventOutcome(scheduledAction: pending, revision: planner.policies.revision.id)
        } else {
            // Captured, released or not yet authorised: the stay is history, nothing to decide.
            outcome = BookingEventOutcome(scheduledAction: hold.scheduledAction, revision: nil)
        }
        return try await store.setBookingEventOutcome(outcome, holdID: event.holdID, eventID: event.eventID)
    }
}
