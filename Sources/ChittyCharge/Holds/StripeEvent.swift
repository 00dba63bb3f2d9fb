import Foundation

/// A verified Stripe webhook event, with what we read from its `data.object`.
public struct StripeEvent: Sendable, Equatable {
    public var id: String
    public var type: String
    /// When Stripe created the event (whole seconds): the order events are judged in.
    public var created: Date
    /// The raw body as Stripe signed it, kept as received.
    public var payload: Data
    /// The PaymentIntent the event is about: the object's id for `payment_intent.*`, the
    /// charge's `payment_intent` for `charge.*`.
    public var paymentIntentID: String?
    /// For `payment_intent.*` events.
    public var paymentIntent: PaymentIntent?
    /// For `charge.*` events.
    public var charge: ChargeSnapshot?

    public init(id: String, type: String, created: Date, payload: Data, paymentIntentID: String? = nil,
                paymentIntent: PaymentIntent? = nil, charge: ChargeSnapshot? = nil) {
        self.id = id
        self.type = type
        self.created = created
        self.payload = payload
        self.paymentIntentID = paymentIntentID
        self.paymentIntent = paymentIntent
        self.charge = charge
    }
}

/// The fields of a Stripe charge a hold cares about.
public struct ChargeSnapshot: Sendable, Equatable {
    public var amountCaptured: Int?
    public var captured: Bool?
    public var captureBefore: Date?

    public init(amountCaptured: Int? = nil, captured: Bool? = nil, captureBefore: Date? = nil) {
        self.amountCaptured = amountCaptured
        self.captured = captured
        self.captureBefore = captureBefore
    }
}

/// What became of a webhook event.
public enum WebhookOutcome: String, Sendable, Codable {
    /// It changed the hold.
    case applied
    /// Older than what the hold already shows, and not a step forward: kept, not applied.
    case stale
    /// About a hold we already know to be final, or a type that changes no hold: kept.
    case recorded
    /// About a PaymentIntent that is not one of our holds: kept.
    case unknownHold = "unknown_hold"
    /// The same event id arrived before; nothing was done this time.
    case duplicate
    /// For our own entries (a scheduled action): it was tried and did not happen.
    case failed
}

/// A webhook event as stored: every verified event is kept, once, with its outcome.
public struct WebhookEventRecord: Sendable, Equatable {
    public var id: String
    public var type: String
    public var created: Date
    public var payload: Data
    public var holdID: String?
    public var outcome: WebhookOutcome
    public var receivedAt: Date

    public init(id: String, type: String, created: Date, payload: Data, holdID: String?, outcome: WebhookOutcome, receivedAt: Date) {
        self.id = id
        self.type = type
        self.created = created
        self.payload = payload
        self.holdID = holdID
        self.outcome = outcome
        self.receivedAt = receivedAt
    }
}

/// A hold to write only if the stored one is still `expected` (optimistic concurrency:
/// an event is judged against the hold it was read with).
public struct HoldReplacement: Sendable, Equatable {
    public var expected: Hold
    public var replacement: Hold

    public init(expected: Hold, replacement: Hold) {
        self.expected = expected
        self.replacement = replacement
    }
}
