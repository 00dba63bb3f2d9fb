import Foundation
import JSON

/// Something that happened to the stay behind a hold, as the rental app (or its PMS) tells
/// us: the guest checked in, did not show, checked out, extended the stay, or the booking
/// was cancelled. Each one is kept in the hold's history and makes `hold_schedule` decide
/// again with the booking's state, so "capture the no-show fee unless the guest checked
/// in" is a rule a policy can write.
public struct BookingEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case checkedIn = "checked_in"
        case noShow = "no_show"
        case checkedOut = "checked_out"
        /// `details.check_out` carries the new check-out time.
        case stayExtended = "stay_extended"
        case bookingCancelled = "booking_cancelled"
    }

    public var holdID: String
    /// The sender's id for the event: one per hold, a repeat answers the first result.
    public var eventID: String
    public var kind: Kind
    public var occurredAt: Date
    public var details: [String: JSONValue]
    /// The API client that sent it.
    public var client: String
    public var receivedAt: Date
    /// What it led to, once `hold_schedule` was asked; nil while that is still to happen
    /// (it was recorded, then the process stopped: recovery or a repeat finishes it).
    public var outcome: BookingEventOutcome?

    public init(holdID: String, eventID: String, kind: Kind, occurredAt: Date, details: [String: JSONValue] = [:],
                client: String, receivedAt: Date, outcome: BookingEventOutcome? = nil) {
        self.holdID = holdID
        self.eventID = eventID
        self.kind = kind
        self.occurredAt = occurredAt
        self.details = details
        self.client = client
        self.receivedAt = receivedAt
        self.outcome = outcome
    }

    /// Whether `other` says the same thing (a retry) rather than something else under the
    /// same id.
    public func sameContent(as other: BookingEvent) -> Bool {
        holdID == other.holdID && eventID == other.eventID && kind == other.kind
            && occurredAt == other.occurredAt && details == other.details
    }

    /// The new check-out a `stay_extended` event carries.
    public var extendedCheckOut: Date? {
        guard kind == .stayExtended, let text = details["check_out"]?.stringValue else { return nil }
        return BookingTime.parse(text)
    }
}

/// What `hold_schedule` made of a booking event: the action pending on the hold afterwards
/// (nil: none), and the revision asked (nil when the hold was not capturable any more and
/// so nothing was asked).
public struct BookingEventOutcome: Sendable, Equatable, Codable {
    public var scheduledAction: ScheduledAction?
    public var revision: String?

    public init(scheduledAction: ScheduledAction?, revision: String?) {
        self.scheduledAction = scheduledAction
        self.revision = revision
    }

    // Stored with times in Unix milliseconds, the precision every store keeps (ISO-8601
    // text would drop the milliseconds and a read-back would differ from what was set).
    private enum CodingKeys: String, CodingKey { case action, at, amount, actionRevision = "action_revision", state, revision }

    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        revision = try fields.decodeIfPresent(String.self, forKey: .revision)
        if let kind = try fields.decodeIfPresent(ScheduledAction.Kind.self, forKey: .action) {
            scheduledAction = ScheduledAction(
                kind: kind, at: Date(timeIntervalSince1970: Double(try fields.decode(Int64.self, forKey: .at)) / 1000),
                amount: try fields.decodeIfPresent(Int.self, forKey: .amount),
                revision: try fields.decode(String.self, forKey: .actionRevision),
                state: try fields.decode(ScheduledAction.State.self, forKey: .state))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encodeIfPresent(revision, forKey: .revision)
        if let action = scheduledAction {
            try fields.encode(action.kind, forKey: .action)
            try fields.encode(Int64((action.at.timeIntervalSince1970 * 1000).rounded()), forKey: .at)
            try fields.encodeIfPresent(action.amount, forKey: .amount)
            try fields.encode(action.revision, forKey: .actionRevision)
            try fields.encode(action.state, forKey: .state)
        }
    }
}

/// The stay as its events describe it, for `hold_schedule` and the API. Events are taken in
/// the order they happened (`occurred_at`, then arrival), so a PMS webhook that arrives
/// late still lands in its place.
public struct BookingState: Sendable, Equatable {
    public enum Stage: String, Sendable {
        /// No event yet (or only extensions): the guest is expected.
        case booked
        case checkedIn = "checked_in"
        case noShow = "no_show"
        case checkedOut = "checked_out"
        case cancelled
    }

    public var stage: Stage = .booked
    public var checkedInAt: Date?
    public var noShowAt: Date?
    public var checkedOutAt: Date?
    public var cancelledAt: Date?
    /// The newest check-out an extension gave, if any.
    public var extendedCheckOut: Date?
    /// Oldest first.
    public var events: [BookingEvent] = []

    public init(events unordered: [BookingEvent]) {
        // Stable sort: equal times keep their arrival order.
        events = unordered.enumerated().sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }.map(\.element)
        for event in events {
            switch event.kind {
            case .checkedIn:
                stage = .checkedIn
                if checkedInAt == nil { checkedInAt = event.occurredAt }
            case .noShow:
                stage = .noShow
                noShowAt = event.occurredAt
            case .checkedOut:
                stage = .checkedOut
                checkedOutAt = event.occurredAt
            case .bookingCancelled:
                stage = .cancelled
                cancelledAt = event.occurredAt
            case .stayExtended:
                if let checkOut = event.extendedCheckOut { extendedCheckOut = checkOut }
            }
        }
    }

    /// As `hold_schedule` and the API see it; times as ISO-8601 UTC text.
    public var jsonValue: JSONValue {
        var fields: [String: JSONValue] = ["state": .string(stage.rawValue)]
        fields["checked_in_at"] = checkedInAt.map { .string(BookingTime.format($0)) }
        fields["no_show_at"] = noShowAt.map { .string(BookingTime.format($0)) }
        fields["checked_out_at"] = checkedOutAt.map { .string(BookingTime.format($0)) }
        fields["cancelled_at"] = cancelledAt.map { .string(BookingTime.format($0)) }
        fields["check_out"] = extendedCheckOut.map { .string(BookingTime.format($0)) }
        fields["events"] = .array(events.map(\.policyValue))
        return .object(fields)
    }
}

extension BookingEvent {
    /// One entry of `booking.events` in `hold_schedule`'s input.
    public var policyValue: JSONValue {
        [
            "event_id": .string(eventID), "type": .string(kind.rawValue),
            "occurred_at": .string(BookingTime.format(occurredAt)), "details": .object(details),
        ]
    }
}

/// ISO-8601 times as booking events carry them: a date-time with `Z` or an offset
/// (fractional seconds allowed), or for a check-out a plain date (midnight UTC).
public enum BookingTime {
    public static func parse(_ text: String) -> Date? {
        guard text.count <= 40 else { return nil }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if text.count == 10, let date = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return date }
        return nil
    }

    /// `parse` without the plain-date form: when something happened needs a time of day.
    public static func parseInstant(_ text: String) -> Date? {
        guard text.count != 10 else { return nil }
        return parse(text)
    }

    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
