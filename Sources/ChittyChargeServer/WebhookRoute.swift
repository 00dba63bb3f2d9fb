import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import StripeAPI

/// `POST /webhook`: Stripe's events. The signature is checked on the raw bytes before
/// anything parses them; a bad one changes nothing and is 400. A verified event is stored
/// once and applied to its hold; duplicates are acknowledged and ignored.
struct WebhookRoute {
    typealias Context = ChittyChargeRequestContext

    let stripeSync: StripeSync
    let clock: any WallClock
    let secret: String?
    let tolerance: TimeInterval
    let metrics: ServerMetrics

    static let signatureHeader = HTTPField.Name("Stripe-Signature")!
    /// Stripe's events are larger than our API bodies (the whole object rides along).
    static let maxEventSize = 512 * 1024

    func register(on router: Router<Context>) {
        router.post("/webhook", use: receive)
    }

    @Sendable func receive(_ request: Request, context: Context) async throws -> Response {
        guard let secret, !secret.isEmpty else {
            metrics.countWebhook(type: nil, outcome: "not_configured")
            throw APIError(.serviceUnavailable, "The webhook signing secret is not configured (STRIPE_WEBHOOK_SECRET); Stripe will retry this delivery",
                           code: "webhook_secret_not_configured")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: Self.maxEventSize)
        let payload = Data(buffer.readableBytesView)
        do {
            try StripeWebhookSignature.verify(
                payload: payload, header: request.headers[Self.signatureHeader], secret: secret, tolerance: tolerance,
                now: clock.now())
        } catch {
            metrics.countWebhook(type: nil, outcome: "bad_signature")
            context.logger.warning("webhook refused: \(error)")
            throw APIError(.badRequest, error.description, code: "invalid_signature")
        }
        let event: StripeEvent
        do {
            event = try StripeEventDecoding.event(from: payload)
        } catch {
            metrics.countWebhook(type: nil, outcome: "invalid_event")
            throw APIError(.badRequest, "The event cannot be read: \(error.reason)", code: "invalid_event")
        }
        let outcome: WebhookOutcome
        do {
            outcome = try await stripeSync.ingestWebhook(event, logger: context.logger)
        } catch {
            metrics.countWebhook(type: event.type, outcome: "error")
            throw error
        }
        metrics.countWebhook(type: event.type, outcome: outcome.rawValue)
        var body: [String: JSONValue] = ["received": true, "outcome": .string(outcome.rawValue)]
        if outcome == .duplicate { body["duplicate"] = true }
        return APIError.jsonResponse(HoldJSON.body(.object(body)), status: .ok)
    }
}
