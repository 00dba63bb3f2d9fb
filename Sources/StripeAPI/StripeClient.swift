import ChittyCharge
import Foundation
import Logging

/// The `PaymentGateway` that talks to Stripe's PaymentIntents API through a
/// `StripeTransport` (real HTTP, or the emulator in-process).
///
/// Money safety rests on two rules. Every attempt of one POST carries the *same*
/// idempotency key, so Stripe executes it at most once however often we retry. And only
/// an answer that proves Stripe did nothing becomes `.rejected`; anything uncertain
/// (no response, 5xx, 429, a lock still held) becomes `.unavailable`, so the caller keeps
/// its operation pending and retries later with the same key.
public struct StripeClient: PaymentGateway {
    /// The API version every request is pinned to, so a change of the account's default
    /// version in Stripe's dashboard cannot change the shapes we decode.
    public static let apiVersion = "2024-06-20"
    public static let userAgent = "ChittyCharge/1.0"

    public let retryPolicy: StripeRetryPolicy
    private let transport: any StripeTransport
    private let secretKey: String
    private let logger: Logger
    private let sleep: @Sendable (Duration) async -> Void

    /// - Parameter sleep: how backoff waits; tests inject one that records instead.
    public init(
        transport: any StripeTransport,
        secretKey: String,
        retryPolicy: StripeRetryPolicy = .default,
        logger: Logger,
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    ) {
        self.transport = transport
        self.secretKey = secretKey
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.sleep = sleep
    }

    // MARK: PaymentGateway

    public func createPaymentIntent(
        _ params: CreatePaymentIntentParams, idempotencyKey: String
    ) async throws(PaymentGatewayError) -> PaymentIntent {
        try await paymentIntent(
            method: "POST", path: "/v1/payment_intents",
            body: StripeFormEncoder.encodeBody(Self.createFields(params)), idempotencyKey: idempotencyKey)
    }

    public func retrievePaymentIntent(id: String) async throws(PaymentGatewayError) -> PaymentIntent {
        let path = try Self.intentPath(id)
        let query = StripeFormEncoder.encode(Self.expandLatestCharge)
        return try await paymentIntent(method: "GET", path: "\(path)?\(query)", body: Data(), idempotencyKey: nil)
    }

    public func capturePaymentIntent(
        id: String, amountToCapture: Int?, idempotencyKey: String
    ) async throws(PaymentGatewayError) -> PaymentIntent {
        var fields: [StripeFormEncoder.Field] = []
        if let amountToCapture { fields.append(.init("amount_to_capture", .integer(amountToCapture))) }
        fields += Self.expandLatestCharge
        return try await paymentIntent(
            method: "POST", path: try Self.intentPath(id) + "/capture",
            body: StripeFormEncoder.encodeBody(fields), idempotencyKey: idempotencyKey)
    }

    public func cancelPaymentIntent(id: String, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent {
        try await paymentIntent(
            method: "POST", path: try Self.intentPath(id) + "/cancel", body: Data(), idempotencyKey: idempotencyKey)
    }

    // MARK: Request shapes

    /// The create parameters in a fixed order, so a retry (even after a restart) sends
    /// byte-identical parameters under its idempotency key.
    static func createFields(_ params: CreatePaymentIntentParams) -> [StripeFormEncoder.Field] {
        var fields: [StripeFormEncoder.Field] = [
            .init("amount", .integer(params.amount)),
            .init("currency", .string(params.currency)),
            // A hold: authorize now, capture (or release) later.
            .init("capture_method", "manual"),
            .init("description", .string(params.description)),
        ]
        if let receiptEmail = params.receiptEmail { fields.append(.init("receipt_email", .string(receiptEmail))) }
        if let customer = params.customer { fields.append(.init("customer", .string(customer))) }
        if let paymentMethod = params.paymentMethod {
            fields.append(.init("payment_method", .string(paymentMethod)))
        }
        if params.confirm {
            fields.append(.init("confirm", true))
            // Confirming a saved card from the server: the customer is not present, so
            // Stripe must not ask for authentication it cannot get.
            if params.paymentMethod != nil { fields.append(.init("off_session", true)) }
        }
        if !params.metadata.isEmpty {
            fields.append(.init("metadata", .dictionary(params.metadata.mapValues { .string($0) })))
        }
        if let types = params.paymentMethodTypes, !types.isEmpty {
            // Explicit, so the Dashboard's automatic payment methods never choose for us.
            fields.append(.init("payment_method_types", .array(types.map { .string($0) })))
        }
        // The expanded charge carries `capture_before`, the hold's real deadline.
        fields += expandLatestCharge
        return fields
    }

    private static let expandLatestCharge: [StripeFormEncoder.Field] = [.init("expand", .array(["latest_charge"]))]

    /// `/v1/payment_intents/{id}`, the id percent-encoded so it cannot reach another path.
    private static func intentPath(_ id: String) throws(PaymentGatewayError) -> String {
        guard !id.isEmpty else {
            // `/v1/payment_intents/` would list intents instead; refuse before sending.
            throw .rejected(PaymentErrorDetail(
                httpStatus: 400, type: "invalid_request_error", code: "parameter_missing",
                message: "A PaymentIntent id is required (checked locally; nothing was sent to Stripe)",
                param: "id"))
        }
        return "/v1/payment_intents/" + StripeFormEncoder.percentEncode(id)
    }

    // MARK: Sending, retrying, judging answers

    private func paymentIntent(
        method: String, path: String, body: Data, idempotencyKey: String?
    ) async throws(PaymentGatewayError) -> PaymentIntent {
        let response = try await send(method: method, path: path, body: body, idempotencyKey: idempotencyKey)
        do {
            return try PaymentIntentDecoding.paymentIntent(from: response.body)
        } catch {
            // Stripe said yes but we cannot tell to what: the outcome is unknown, not refused.
            throw .unavailable(
                "Stripe \(method) \(Self.pathWithoutQuery(path)) answered HTTP \(response.status) "
                    + "but the body is not a readable PaymentIntent: \(error.reason)")
        }
    }

    /// What one attempt told us.
    private enum AttemptOutcome {
        case succeeded(StripeHTTPResponse)
        /// A final refusal: Stripe did nothing for this request.
        case rejected(PaymentErrorDetail)
        /// No final answer. `retry` says whether another attempt may get one.
        case inconclusive(reason: String, retry: Bool)
        /// A 5xx Stripe replays for this key: it will never change.
        case serverErrorReplayed(reason: String)
    }

    /// Sends until there is a final answer or the policy's attempts are spent; returns
    /// only 2xx responses.
    private func send(
        method: String, path: String, body: Data, idempotencyKey: String?
    ) async throws(PaymentGatewayError) -> StripeHTTPResponse {
        let operation = "Stripe \(method) \(Self.pathWithoutQuery(path))"
        if method == "POST" {
            guard let idempotencyKey, !idempotencyKey.isEmpty else {
                // Without a key a retry could act twice; refusing is the only safe answer.
                throw .rejected(PaymentErrorDetail(
                    httpStatus: 400, type: "invalid_request_error", code: "parameter_missing",
                    message: "\(operation) needs an idempotency key (checked locally; nothing was sent to Stripe)",
                    param: "Idempotency-Key"))
            }
        }
        let request = makeRequest(method: method, path: path, body: body, idempotencyKey: idempotencyKey)
        var logger = self.logger
        logger[metadataKey: "stripe.method"] = "\(method)"
        logger[metadataKey: "stripe.path"] = "\(Self.pathWithoutQuery(path))"
        if let idempotencyKey { logger[metadataKey: "stripe.idempotency_key"] = "\(idempotencyKey)" }

        var attempt = 0
        while true {
            attempt += 1
            logger[metadataKey: "stripe.attempt"] = "\(attempt)"
            logger[metadataKey: "stripe.status"] = nil

            let outcome: AttemptOutcome
            do {
                let response = try await transport.send(request)
                logger[metadataKey: "stripe.status"] = "\(response.status)"
                outcome = Self.judge(response)
            } catch {
                outcome = .inconclusive(reason: "no response (transport error: \(error))", retry: true)
            }

            switch outcome {
            case .succeeded(let response):
                logger.debug("Stripe request succeeded")
                return response
            case .rejected(let detail):
                var errorMetadata: Logger.Metadata = ["stripe.error_type": "\(detail.type)"]
                if let code = detail.code { errorMetadata["stripe.error_code"] = "\(code)" }
                if let declineCode = detail.declineCode { errorMetadata["stripe.decline_code"] = "\(declineCode)" }
                // Declines and refusals are ordinary business, not faults of ours.
                logger.info("Stripe rejected the request", metadata: errorMetadata)
                throw .rejected(detail)
            case .serverErrorReplayed(let reason):
                logger.error("Stripe replays a server error for this idempotency key; the outcome must be reconciled: \(reason)")
                throw .serverErrorReplayed("\(operation) answered with a server error Stripe stores for this idempotency key; last: \(reason)")
            case .inconclusive(let reason, let retry):
                let attempts = attempt == 1 ? "1 attempt" : "\(attempt) attempts"
                guard retry else {
                    logger.error("Stripe gave no final answer and retrying would not help: \(reason)")
                    throw .unavailable(
                        "\(operation) gave no final answer after \(attempts), not retrying; last: \(reason)")
                }
                guard attempt < retryPolicy.maxAttempts else {
                    logger.error("Stripe gave no final answer; giving up: \(reason)")
                    throw .unavailable("\(operation) gave no final answer after \(attempts); last: \(reason)")
                }
                guard !Task.isCancelled else {
                    throw .unavailable("\(operation) was cancelled after \(attempts) without a final answer; last: \(reason)")
                }
                let delay = retryPolicy.delay(afterAttempt: attempt)
                // POSTs repeat with the key already in this logger's metadata, never a new one.
                logger.warning("Stripe gave no final answer; retrying in \(delay): \(reason)")
                await sleep(delay)
                guard !Task.isCancelled else {
                    throw .unavailable("\(operation) was cancelled after \(attempts) without a final answer; last: \(reason)")
                }
            }
        }
    }

    /// Sorts a response into success, final refusal, or no final answer. Stripe's
    /// `Stripe-Should-Retry` header, when present, overrides our reading of the status.
    private static func judge(_ response: StripeHTTPResponse) -> AttemptOutcome {
        let status = response.status
        if (200..<300).contains(status) { return .succeeded(response) }

        let detail = StripeErrorDecoding.errorDetail(fromResponseBody: response.body, httpStatus: status)
        let reason = "HTTP \(status)" + (detail.map { Self.describe($0) } ?? StripeErrorDecoding.bodyExcerpt(response.body))
        // Stripe's SDKs make the same distinction: these statuses mean "not done yet",
        // and a retry with the same key either does it once or replays the outcome.
        let isTransient =
            status >= 500 || status == 429
            || (status == 409 && ["lock_timeout", "idempotency_key_in_use"].contains(detail?.code ?? ""))
        if status >= 500, isReplay(response) {
            // Stripe stored this 5xx under the key (it keeps even 500s for 24 h): asking
            // again with the same key only replays it.
            return .serverErrorReplayed(reason: reason)
        }

        switch shouldRetryHeader(response) {
        case true?:
            return .inconclusive(reason: reason, retry: true)
        case false?:
            if (400..<500).contains(status), !isTransient {
                return .rejected(detail ?? StripeErrorDecoding.unreadableErrorDetail(body: response.body, httpStatus: status))
            }
            return .inconclusive(reason: reason + " (Stripe-Should-Retry: false)", retry: false)
        case nil:
            if isTransient { return .inconclusive(reason: reason, retry: true) }
            if (400..<500).contains(status) {
                return .rejected(detail ?? StripeErrorDecoding.unreadableErrorDetail(body: response.body, httpStatus: status))
            }
            // 1xx/3xx: not something Stripe's API sends; repeating will not change it.
            return .inconclusive(reason: reason + " (unexpected status)", retry: false)
        }
    }

    /// Stripe marks a replayed answer with `Idempotent-Replayed: true`, and names the
    /// request that produced it in `Original-Request` (another id than this request's).
    private static func isReplay(_ response: StripeHTTPResponse) -> Bool {
        if header(response, "idempotent-replayed")?.lowercased() == "true" { return true }
        guard let original = header(response, "original-request"), !original.isEmpty,
              let requestID = header(response, "request-id") else { return false }
        return original != requestID
    }

    private static func header(_ response: StripeHTTPResponse, _ name: String) -> String? {
        // Names arrive lowercased from transports; compare case-insensitively anyway.
        response.headers.first(where: { $0.key.lowercased() == name })?.value.trimmingCharacters(in: .whitespaces)
    }

    private static func shouldRetryHeader(_ response: StripeHTTPResponse) -> Bool? {
        guard let value = header(response, "stripe-should-retry") else { return nil }
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    private static func describe(_ detail: PaymentErrorDetail) -> String {
        " \(detail.type)" + (detail.code.map { "/\($0)" } ?? "") + ": \(detail.message)"
    }

    private static func pathWithoutQuery(_ path: String) -> String {
        String(path.prefix { $0 != "?" })
    }

    private func makeRequest(method: String, path: String, body: Data, idempotencyKey: String?) -> StripeHTTPRequest {
        var headers = [
            "Authorization": "Bearer \(secretKey)",
            "Stripe-Version": Self.apiVersion,
            "User-Agent": Self.userAgent,
        ]
        if method == "POST" {
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        }
        return StripeHTTPRequest(method: method, path: path, headers: headers, body: body)
    }
}
