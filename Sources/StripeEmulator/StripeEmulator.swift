import ChittyCharge
import Foundation
import StripeAPI

/// A faithful stand-in for Stripe's PaymentIntents API, for tests, demos
/// (`chittycharge serve --stripe emulator`) and benchmarks.
///
/// One entry point, `handle(_:)`, takes the same encoded request a real HTTP client would
/// send and answers as Stripe does: form-decoded parameters, Stripe's error shapes, the
/// status machine of a manual-capture hold, idempotency replay and mismatch errors, hold
/// expiry by an injected clock. Tests can also inject faults in front of it and read a
/// log of the calls it answered.
public actor StripeEmulator {
    /// How long Stripe keeps an idempotency key's result.
    static let idempotencyRetention: TimeInterval = 24 * 3600

    let clock: any WallClock
    let callLogCapacity: Int
    let idempotencyCapacity: Int

    var paymentIntentsByID: [String: EmulatedPaymentIntent] = [:]
    /// Creation order, for `paymentIntents()`.
    var paymentIntentIDs: [String] = []
    var chargesByID: [String: EmulatedCharge] = [:]
    var idempotencyRecords: [String: IdempotencyRecord] = [:]
    /// Keys in the order they were stored, to forget them after the retention period
    /// without scanning the whole store.
    var idempotencyKeysByAge: [String] = []
    var idempotencyKeysByAgeStart = 0
    var injectedFaults: [InjectedFault] = []
    var isUnreachable = false
    var callLog: [StripeEmulatorCall] = []
    var eventLog: [EmulatedEvent] = []
    /// Signed webhook delivery (`StripeEmulator+Webhooks.swift`); nil sends nothing.
    var webhookEndpoint: EmulatedWebhookEndpoint?
    /// Bumped whenever the endpoint changes, so retries meant for an old one stop.
    var webhookEndpointGeneration = 0
    var webhookDeliveryLog: [Int: EmulatedWebhookDelivery] = [:]
    var nextWebhookDeliveryNumber = 0
    var webhookDeliveriesInFlight = 0

    /// - Parameters:
    ///   - clock: time for `created`, `capture_before` and hold expiry; tests inject one.
    ///   - callLogCapacity: the call and event logs keep this many recent entries, so a
    ///     long load test does not grow without bound.
    ///   - idempotencyCapacity: at most this many stored idempotent results; beyond it the
    ///     oldest are forgotten before Stripe's 24 hours (each holds a whole response).
    public init(clock: any WallClock = SystemWallClock(), callLogCapacity: Int = 100_000,
                idempotencyCapacity: Int = 200_000) {
        self.clock = clock
        self.callLogCapacity = max(1, callLogCapacity)
        self.idempotencyCapacity = max(1, idempotencyCapacity)
    }

    // MARK: - The entry point

    /// Answers one API request as Stripe would.
    public func handle(_ request: StripeHTTPRequest) -> StripeHTTPResponse {
        let started = ContinuousClock.now
        let target = RequestTarget(request.path)
        let method = request.method.uppercased()
        let idempotencyKey = method == "POST" ? request.header("Idempotency-Key").flatMap { $0.isEmpty ? nil : $0 } : nil
        let requestID = StripeObjectID.make("req_", length: 14)

        var processed: ProcessedRequest
        let fault = takeInjectedFault(for: target.path)
        if let fault, fault.timing == .inFront {
            processed = ProcessedRequest(response: Self.faultResponse(status: fault.status), params: [:])
            processed.injectedFault = true
        } else {
            processed = process(request, method: method, target: target, idempotencyKey: idempotencyKey,
                                requestID: requestID, fault: fault)
        }
        processed.response.headers["request-id"] = requestID
        if let idempotencyKey { processed.response.headers["idempotency-key"] = idempotencyKey }

        let elapsed = ContinuousClock.now - started
        let (seconds, attoseconds) = elapsed.components
        let nanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        appendBounded(
            StripeEmulatorCall(
                method: method, path: target.path, idempotencyKey: idempotencyKey, params: processed.params,
                status: processed.response.status, replayed: processed.replayed,
                injectedFault: processed.injectedFault, durationNanoseconds: nanoseconds, requestID: requestID),
            to: &callLog)
        return processed.response
    }

    /// What the in-process transport calls: `nil` models a connection that never reached
    /// Stripe (nothing is logged, nothing changes).
    func receive(_ request: StripeHTTPRequest) -> StripeHTTPResponse? {
        isUnreachable ? nil : handle(request)
    }

    // MARK: - Faults

    /// Where an injected failure happens, which decides what a retry with the same
    /// idempotency key gets.
    public enum FaultTiming: Sendable, Equatable {
        /// In front of Stripe: nothing executes and nothing is stored for the key, so a
        /// retry with the same key runs normally.
        case inFront
        /// Stripe failed before acting, and stored the error under the idempotency key
        /// (Stripe keeps even a 500 for 24 h): every retry with that key replays it, marked
        /// `Idempotent-Replayed: true`. Nothing executed.
        case storedWithKey
        /// Stripe acted (the capture, cancel or create happened, with its events) but
        /// answered the error, and stored that under the key as above.
        case afterActing
    }

    struct InjectedFault: Sendable {
        var remaining: Int
        var status: Int
        var pathPrefix: String?
        var timing: FaultTiming
    }

    /// The next `count` requests (whose path starts with `pathPrefix`, if given) fail with
    /// `status` and a Stripe-shaped error; `timing` says whether Stripe stored the error
    /// under the request's idempotency key and whether it acted first.
    public func failNextRequests(_ count: Int, status: Int = 500, matching pathPrefix: String? = nil,
                                 timing: FaultTiming = .inFront) {
        guard count > 0 else { return }
        injectedFaults.append(InjectedFault(remaining: count, status: status, pathPrefix: pathPrefix, timing: timing))
    }

    /// While on, the in-process transport throws (connection refused) and the HTTP front
    /// answers 503 without a Stripe body.
    public func setUnreachable(_ on: Bool) {
        isUnreachable = on
    }

    public var unreachable: Bool { isUnreachable }

    private func takeInjectedFault(for path: String) -> InjectedFault? {
        guard let index = injectedFaults.firstIndex(where: { fault in
            fault.pathPrefix.map { path.hasPrefix($0) } ?? true
        }) else { return nil }
        let fault = injectedFaults[index]
        if fault.remaining <= 1 {
            injectedFaults.remove(at: index)
        } else {
            injectedFaults[index].remaining -= 1
        }
        return fault
    }

    static func faultResponse(status: Int) -> StripeHTTPResponse {
        let error: StripeEmulatorError
        var headers = ["content-type": "application/json"]
        switch status {
        case 409:
            error = StripeEmulatorError(
                httpStatus: status, type: "idempotency_error", code: "idempotency_key_in_use",
                message: "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): please try again later.")
            headers["stripe-should-retry"] = "true"
        case 429:
            error = StripeEmulatorError(
                httpStatus: status, type: "invalid_request_error", code: "rate_limit",
                message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.")
        default:
            error = StripeEmulatorError(
                httpStatus: status, type: "api_error",
                message: "An unknown error occurred while processing your request (injected by the Stripe emulator).")
        }
        return StripeHTTPResponse(status: status, headers: headers, body: StripeJSON.object(["error": error.json()]).encoded())
    }

    // MARK: - Call log

    public func calls() -> [StripeEmulatorCall] { callLog }

    /// Calls whose path (without query) is exactly `path`.
    public func calls(path: String) -> [StripeEmulatorCall] { callLog.filter { $0.path == path } }

    /// How many calls had `method` and a path starting with `pathPrefix`.
    public func callCount(method: String? = nil, pathPrefix: String = "/") -> Int {
        callLog.count(where: { call in
            call.path.hasPrefix(pathPrefix) && (method.map { call.method == $0.uppercased() } ?? true)
        })
    }

    public func resetCalls() { callLog.removeAll() }

    func appendBounded<Entry>(_ entry: Entry, to log: inout [Entry]) {
        // Dropping a tenth at a time keeps appends amortized O(1).
        if log.count >= callLogCapacity {
            log.removeFirst(max(1, callLogCapacity / 10))
        }
        log.append(entry)
    }

    // MARK: - Direct access for tests

    /// A snapshot of an intent, after applying any hold expiry due by the clock.
    public func paymentIntent(id: String) -> EmulatedPaymentIntent? {
        touchPaymentIntent(id: id)
    }

    /// Every intent in creation order, expiry applied.
    public func paymentIntents() -> [EmulatedPaymentIntent] {
        paymentIntentIDs.compactMap { touchPaymentIntent(id: $0) }
    }

    public func charge(id: String) -> EmulatedCharge? { chargesByID[id] }

    /// Events recorded so far (what webhooks would deliver), oldest first.
    public func events() -> [EmulatedEvent] { eventLog }

    /// Confirms an intent as the customer would in the browser: the same code as
    /// `POST /v1/payment_intents/{id}/confirm`, without HTTP or idempotency.
    @discardableResult
    public func confirm(id: String, paymentMethod: String? = nil, offSession: Bool = false)
        -> Result<EmulatedPaymentIntent, StripeEmulatorError>
    {
        do throws(StripeEmulatorError) {
            return .success(try confirmPaymentIntent(id: id, paymentMethod: paymentMethod, offSession: offSession))
        } catch {
            return .failure(error)
        }
    }

    /// Applies expiry to every hold whose deadline passed, as Stripe's own sweep does;
    /// returns the ids of the intents it canceled.
    @discardableResult
    public func expireLapsedHolds() -> [String] {
        let now = clock.now()
        var expired: [String] = []
        for id in paymentIntentIDs {
            guard var intent = paymentIntentsByID[id] else { continue }
            if expireIfLapsed(&intent, now: now) {
                paymentIntentsByID[id] = intent
                expired.append(id)
            }
        }
        return expired
    }
}
