import Foundation

/// A state change Stripe would announce with a webhook (`payment_intent.canceled`, …),
/// with the object as it was at that moment. Recorded in the event log and, when an
/// endpoint is configured, delivered signed (`StripeEmulator+Webhooks.swift`).
public struct EmulatedEvent: Sendable, Equatable {
    public var id: String
    public var type: String
    public var created: Date
    /// `data.object`: the PaymentIntent or charge JSON at the time of the event.
    public var object: StripeJSON

    /// The event as Stripe posts it to an endpoint.
    public var json: StripeJSON {
        [
            "id": .string(id),
            "object": "event",
            "api_version": "2024-06-20",
            "created": .timestamp(created),
            "data": ["object": object],
            "livemode": false,
            "pending_webhooks": 0,
            "request": ["id": nil, "idempotency_key": nil],
            "type": .string(type),
        ]
    }
}
