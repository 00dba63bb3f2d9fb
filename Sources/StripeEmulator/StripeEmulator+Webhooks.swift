import AsyncHTTPClient
import ChittyCharge
import Foundation
import NIOCore
import StripeAPI

/// Signed webhook delivery, as Stripe does it: every recorded event is POSTed to the
/// configured endpoint with a `Stripe-Signature` header, asynchronously, retried with
/// backoff on a non-2xx answer or no answer, each retry signed afresh. Like Stripe, it
/// promises neither order nor exactly-once: tests can redeliver an event and send
/// events in an order of their choosing.
extension StripeEmulator {
    static let webhookUserAgent = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    /// Receivers answer with a short acknowledgement; more is read and dropped.
    static let maximumWebhookResponseBytes = 64 * 1024

    /// Starts posting every event recorded from now on to `url`, signed with `secret`.
    /// Replaces any endpoint configured before; retries still pending for the old one stop.
    /// - Parameter automaticDelivery: false records events without sending them, for tests
    ///   that send them with `deliverEvents(_:)` in an order of their choosing.
    public func configureWebhookEndpoint(url: String, secret: String,
                                         retryPolicy: EmulatedWebhookRetryPolicy = .compressed,
                                         automaticDelivery: Bool = true) {
        webhookEndpoint = EmulatedWebhookEndpoint(url: url, secret: secret, retryPolicy: retryPolicy,
                                                  automaticDelivery: automaticDelivery)
        webhookEndpointGeneration += 1
    }

    /// Stops sending events; retries still pending give up at their next attempt.
    public func removeWebhookEndpoint() {
        webhookEndpoint = nil
        webhookEndpointGeneration += 1
    }

    public var configuredWebhookEndpoint: EmulatedWebhookEndpoint? { webhookEndpoint }

    /// Every delivery (recent ones, bounded like the call log), in the order they began.
    public func webhookDeliveries() -> [EmulatedWebhookDelivery] {
        webhookDeliveryLog.values.sorted { $0.number < $1.number }
    }

    public func webhookDeliveries(eventID: String) -> [EmulatedWebhookDelivery] {
        webhookDeliveries().filter { $0.eventID == eventID }
    }

    /// Waits until no delivery is in flight (each one delivered or given up). Returns
    /// false if some were still in flight after `timeout`.
    public func waitForWebhookDeliveries(timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while webhookDeliveriesInFlight > 0 {
            guard ContinuousClock.now < deadline else { return false }
            // Polls the count rather than parking continuations: this is a test aid, and
            // a short poll cannot miss a wake-up or leak a waiter on timeout.
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Sends an already recorded event again, as Stripe may (a duplicate delivery with
    /// the same event id and body, signed with a fresh timestamp). Asynchronous like any
    /// delivery; returns false if no endpoint is configured or the event is unknown
    /// (or already dropped from the bounded event log).
    @discardableResult
    public func redeliver(eventID: String) -> Bool {
        guard let endpoint = webhookEndpoint, let event = recordedEvent(id: eventID) else { return false }
        startWebhookDelivery(of: event, to: endpoint)
        return true
    }

    /// Sends recorded events one at a time in the order given, each finished (delivered or
    /// given up) before the next begins: how a test makes events arrive out of order.
    /// Returns the deliveries made; unknown ids are skipped.
    public func deliverEvents(_ eventIDs: [String]) async -> [EmulatedWebhookDelivery] {
        var deliveries: [EmulatedWebhookDelivery] = []
        for eventID in eventIDs {
            guard let endpoint = webhookEndpoint, let event = recordedEvent(id: eventID) else { continue }
            let delivery = beginWebhookDelivery(of: event, to: endpoint)
            await Self.runWebhookDelivery(delivery, to: endpoint, clock: clock, emulator: self)
            if let finished = webhookDeliveryLog[delivery.number] { deliveries.append(finished) }
        }
        return deliveries
    }

    // MARK: - Internals

    /// Called by `recordEvent` for every new event.
    func deliverIfConfigured(_ event: EmulatedEvent) {
        guard let endpoint = webhookEndpoint, endpoint.automaticDelivery else { return }
        startWebhookDelivery(of: event, to: endpoint)
    }

    private func recordedEvent(id: String) -> EmulatedEvent? {
        eventLog.last { $0.id == id }
    }

    /// A delivery runs in its own task so the actor goes on answering API requests.
    private func startWebhookDelivery(of event: EmulatedEvent, to endpoint: EmulatedWebhookEndpoint) {
        let delivery = beginWebhookDelivery(of: event, to: endpoint)
        let clock = clock
        Task { await Self.runWebhookDelivery(delivery, to: endpoint, clock: clock, emulator: self) }
    }

    struct PendingWebhookDelivery: Sendable {
        let number: Int
        let endpointGeneration: Int
        /// Encoded once, so every attempt and every redelivery sends identical bytes.
        let body: Data
    }

    private func beginWebhookDelivery(of event: EmulatedEvent, to endpoint: EmulatedWebhookEndpoint)
        -> PendingWebhookDelivery
    {
        let number = nextWebhookDeliveryNumber
        nextWebhookDeliveryNumber += 1
        webhookDeliveryLog[number] = EmulatedWebhookDelivery(
            number: number, eventID: event.id, eventType: event.type, url: endpoint.url, attempts: 0,
            lastHTTPStatus: nil, lastError: nil, lastSignatureTimestamp: nil, state: .inFlight)
        // Keeps the last `callLogCapacity` entries; one removal per insertion stays O(1).
        webhookDeliveryLog.removeValue(forKey: number - callLogCapacity)
        webhookDeliveriesInFlight += 1
        return PendingWebhookDelivery(number: number, endpointGeneration: webhookEndpointGeneration,
                                      body: event.json.encoded())
    }

    /// Records an attempt's outcome and says whether to try again: not after a 2xx, not
    /// past the policy's attempts, and not once the endpoint was removed or replaced.
    private func completeWebhookAttempt(_ delivery: PendingWebhookDelivery, attempt: Int, signatureTimestamp: Int64,
                                        outcome: WebhookAttemptOutcome, maximumAttempts: Int) -> Bool {
        let retry = !outcome.isDelivered && attempt < maximumAttempts
            && webhookEndpointGeneration == delivery.endpointGeneration
        if var entry = webhookDeliveryLog[delivery.number] {
            entry.attempts = attempt
            entry.lastSignatureTimestamp = signatureTimestamp
            switch outcome {
            case .answered(let status):
                entry.lastHTTPStatus = status
                entry.lastError = nil
            case .noAnswer(let reason):
                entry.lastHTTPStatus = nil
                entry.lastError = reason
            }
            if !retry { entry.state = outcome.isDelivered ? .delivered : .failed }
            webhookDeliveryLog[delivery.number] = entry
        }
        if !retry { webhookDeliveriesInFlight -= 1 }
        return retry
    }

    /// The attempts of one delivery, off the actor: only the bookkeeping between attempts
    /// goes through it.
    @concurrent
    private static func runWebhookDelivery(_ delivery: PendingWebhookDelivery, to endpoint: EmulatedWebhookEndpoint,
                                           clock: any WallClock, emulator: StripeEmulator) async {
        var attempt = 1
        while true {
            // Signed with the emulator's clock, so a receiver that shares it (tests with a
            // manual clock) judges the timestamp as it would judge Stripe's.
            let timestamp = Int64(clock.now().timeIntervalSince1970.rounded(.down))
            let outcome = await postWebhook(body: delivery.body, to: endpoint, signatureTimestamp: timestamp)
            let retry = await emulator.completeWebhookAttempt(
                delivery, attempt: attempt, signatureTimestamp: timestamp, outcome: outcome,
                maximumAttempts: endpoint.retryPolicy.maximumAttempts)
            guard retry else { return }
            attempt += 1
            try? await Task.sleep(for: endpoint.retryPolicy.delay(beforeAttempt: attempt))
        }
    }

    private static func postWebhook(body: Data, to endpoint: EmulatedWebhookEndpoint,
                                    signatureTimestamp: Int64) async -> WebhookAttemptOutcome {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: webhookUserAgent)
        request.headers.add(
            name: "Stripe-Signature",
            value: StripeWebhookSignature.header(payload: body, secret: endpoint.secret, timestamp: signatureTimestamp))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(
                request, timeout: timeAmount(endpoint.retryPolicy.requestTimeout))
            // The body is read (and dropped) so the connection can be reused; its content
            // does not matter to Stripe, only the status.
            _ = try? await response.body.collect(upTo: maximumWebhookResponseBytes)
            return .answered(status: Int(response.status.code))
        } catch {
            return .noAnswer(String(describing: error))
        }
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        // Capped at a day so an absurd configured timeout cannot overflow the nanoseconds.
        return .nanoseconds(min(seconds, 86_400) * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
