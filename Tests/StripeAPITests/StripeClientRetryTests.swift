import ChittyCharge
import Foundation
import StripeAPI
import Testing

@Suite("StripeClient retries and error judgement")
struct StripeClientRetryTests {
    let params = CreatePaymentIntentParams(amount: 5000, currency: "usd", description: "Deposit")
    /// Deterministic backoff so the recorded sleeps can be compared exactly.
    let exponentialPolicy = StripeRetryPolicy(
        maxAttempts: 4, baseDelay: .milliseconds(250), maxDelay: .seconds(4), jitter: .none)

    @Test("500, 500, 200: succeeds on the third attempt with one idempotency key and growing waits")
    func serverErrorsThenSuccess() async throws {
        let transport = ScriptedStripeTransport([
            .stripeError(500, type: "api_error"), .stripeError(500, type: "api_error"), .intent("pi_retry"),
        ])
        let sleeps = SleepRecorder()
        let client = makeClient(transport, retryPolicy: exponentialPolicy, sleeps: sleeps)

        let intent = try await client.createPaymentIntent(params, idempotencyKey: "hold-create-42")

        #expect(intent.id == "pi_retry")
        let requests = transport.requests
        #expect(requests.count == 3)
        #expect(requests.allSatisfy { $0.header("Idempotency-Key") == "hold-create-42" })
        #expect(Set(requests.map(\.body)).count == 1, "every attempt must send the same parameters")
        #expect(sleeps.recorded == [.milliseconds(250), .milliseconds(500)])
    }

    @Test("429 then 200: retried")
    func rateLimitedThenSuccess() async throws {
        let transport = ScriptedStripeTransport([
            .stripeError(429, type: "invalid_request_error", code: "rate_limit"), .intent(),
        ])
        let sleeps = SleepRecorder()
        let intent = try await makeClient(transport, sleeps: sleeps).createPaymentIntent(params, idempotencyKey: "k1")
        #expect(intent.status == .requiresCapture)
        #expect(transport.requests.count == 2)
        #expect(sleeps.recorded.count == 1)
    }

    @Test("409 with a lock still held: retried", arguments: ["lock_timeout", "idempotency_key_in_use"])
    func conflictWhileLockedThenSuccess(code: String) async throws {
        let transport = ScriptedStripeTransport([
            .stripeError(409, type: "invalid_request_error", code: code), .intent(),
        ])
        let intent = try await makeClient(transport).capturePaymentIntent(id: "pi_123", amountToCapture: nil, idempotencyKey: "cap-1")
        #expect(intent.id == "pi_123")
        #expect(transport.requests.count == 2)
        #expect(transport.requests.map { $0.header("Idempotency-Key") } == ["cap-1", "cap-1"])
    }

    @Test("409 with another code: rejected at once")
    func otherConflictRejected() async {
        let transport = ScriptedStripeTransport([
            .stripeError(409, type: "invalid_request_error", code: "resource_already_exists"), .intent(),
        ])
        let sleeps = SleepRecorder()
        let error = await gatewayError { try await makeClient(transport, sleeps: sleeps).createPaymentIntent(params, idempotencyKey: "k") }
        guard case .rejected(let detail)? = error else {
            Issue.record("expected .rejected, got \(String(describing: error))")
            return
        }
        #expect(detail.httpStatus == 409)
        #expect(detail.code == "resource_already_exists")
        #expect(transport.requests.count == 1)
        #expect(sleeps.recorded.isEmpty)
    }

    @Test("402 card decline: rejected with its decline code, no retry")
    func cardDeclined() async {
        let transport = ScriptedStripeTransport([
            .stripeError(402, type: "card_error", code: "card_declined", declineCode: "insufficient_funds",
                         message: "Your card has insufficient funds.", param: "payment_method"),
            .intent(),
        ])
        let error = await gatewayError { try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "k") }
        #expect(error == .rejected(PaymentErrorDetail(
            httpStatus: 402, type: "card_error", code: "card_declined", declineCode: "insufficient_funds",
            message: "Your card has insufficient funds.", param: "payment_method")))
        #expect(transport.requests.count == 1)
    }

    @Test("400 invalid request: rejected after exactly one request")
    func invalidRequest() async {
        let transport = ScriptedStripeTransport([
            .stripeError(400, type: "invalid_request_error", code: "amount_too_small",
                         message: "Amount must be at least $0.50 usd", param: "amount"),
            .intent(),
        ])
        let error = await gatewayError { try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "k") }
        guard case .rejected(let detail)? = error else {
            Issue.record("expected .rejected, got \(String(describing: error))")
            return
        }
        #expect(detail.httpStatus == 400)
        #expect(detail.type == "invalid_request_error")
        #expect(detail.code == "amount_too_small")
        #expect(detail.param == "amount")
        #expect(transport.requests.count == 1)
    }

    @Test("a 4xx body that is not a Stripe error: rejected, the message names the status")
    func unreadableErrorBody() async {
        let transport = ScriptedStripeTransport([.json(404, "<html>Not Found</html>")])
        let error = await gatewayError { try await makeClient(transport).retrievePaymentIntent(id: "pi_missing") }
        guard case .rejected(let detail)? = error else {
            Issue.record("expected .rejected, got \(String(describing: error))")
            return
        }
        #expect(detail.httpStatus == 404)
        #expect(detail.message.contains("HTTP 404"))
        #expect(detail.message.contains("Not Found"))
    }

    @Test("transport failing every time: unavailable after maxAttempts, naming the error")
    func transportAlwaysFails() async {
        let transport = ScriptedStripeTransport([.fail(ScriptedStripeTransport.ConnectionRefused())], repeatsLastStep: true)
        let sleeps = SleepRecorder()
        let client = makeClient(transport, retryPolicy: exponentialPolicy, sleeps: sleeps)
        let error = await gatewayError { try await client.cancelPaymentIntent(id: "pi_123", idempotencyKey: "cancel-1") }
        guard case .unavailable(let message)? = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(transport.requests.count == 4)
        #expect(sleeps.recorded == [.milliseconds(250), .milliseconds(500), .seconds(1)])
        #expect(message.contains("4 attempts"))
        #expect(message.contains("connection refused"))
        #expect(message.contains("/v1/payment_intents/pi_123/cancel"))
    }

    @Test("5xx on every attempt: unavailable, naming the last status")
    func serverErrorsExhausted() async {
        let transport = ScriptedStripeTransport([.stripeError(503, type: "api_error", message: "try later")], repeatsLastStep: true)
        let error = await gatewayError { try await makeClient(transport, retryPolicy: .immediate(maxAttempts: 3)).createPaymentIntent(params, idempotencyKey: "k") }
        guard case .unavailable(let message)? = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(transport.requests.count == 3)
        #expect(message.contains("HTTP 503"))
        #expect(message.contains("3 attempts"))
    }

    @Test("Stripe-Should-Retry: false on a 500: unavailable without a retry")
    func shouldRetryFalse() async {
        let transport = ScriptedStripeTransport([
            .stripeError(500, type: "api_error", headers: ["stripe-should-retry": "false"]), .intent(),
        ])
        let sleeps = SleepRecorder()
        let error = await gatewayError { try await makeClient(transport, sleeps: sleeps).createPaymentIntent(params, idempotencyKey: "k") }
        guard case .unavailable(let message)? = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(transport.requests.count == 1)
        #expect(sleeps.recorded.isEmpty)
        #expect(message.contains("Stripe-Should-Retry: false"))
    }

    @Test("Stripe-Should-Retry: true on a 400: retried")
    func shouldRetryTrue() async throws {
        let transport = ScriptedStripeTransport([
            .stripeError(400, type: "invalid_request_error", headers: ["stripe-should-retry": "true"]), .intent(),
        ])
        _ = try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "k")
        #expect(transport.requests.count == 2)
    }

    @Test("a GET is retried the same way, without an idempotency key")
    func retrieveRetried() async throws {
        let transport = ScriptedStripeTransport([.json(502, "Bad Gateway"), .intent("pi_get")])
        let intent = try await makeClient(transport).retrievePaymentIntent(id: "pi_get")
        #expect(intent.id == "pi_get")
        #expect(transport.requests.count == 2)
        #expect(transport.requests.allSatisfy { $0.method == "GET" && $0.header("Idempotency-Key") == nil })
    }

    @Test("a 200 whose body is not a PaymentIntent: unavailable, not retried", arguments: [
        "not json at all", "[1,2,3]", #"{"object":"payment_intent","status":"requires_capture"}"#, #"{"id":"pi_1"}"#,
    ])
    func garbageSuccessBody(body: String) async {
        let transport = ScriptedStripeTransport([.json(200, body), .intent()])
        let error = await gatewayError { try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "k") }
        guard case .unavailable(let message)? = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(message.contains("HTTP 200"))
        #expect(message.contains("not a readable PaymentIntent"))
        #expect(transport.requests.count == 1)
    }

    @Test("an empty id or idempotency key is refused before anything is sent")
    func refusedLocally() async {
        let transport = ScriptedStripeTransport([.intent()], repeatsLastStep: true)
        let client = makeClient(transport)
        let emptyID = await gatewayError { try await client.retrievePaymentIntent(id: "") }
        let emptyKey = await gatewayError { try await client.createPaymentIntent(params, idempotencyKey: "") }
        guard case .rejected(let idDetail)? = emptyID, case .rejected(let keyDetail)? = emptyKey else {
            Issue.record("expected two .rejected, got \(String(describing: emptyID)) and \(String(describing: emptyKey))")
            return
        }
        #expect(idDetail.param == "id")
        #expect(keyDetail.param == "Idempotency-Key")
        #expect(transport.requests.isEmpty)
    }
}

@Suite("StripeClient and Stripe's stored 5xx")
struct StripeClientReplayedErrorTests {
    @Test("a 5xx Stripe marks as replayed for the key stops the retries: it can never change")
    func replayedServerError() async {
        let transport = ScriptedStripeTransport([
            .stripeError(500, type: "api_error"),
            .stripeError(500, type: "api_error", headers: ["Idempotent-Replayed": "true"]),
            .intent(),
        ])
        let client = StripeClient(transport: transport, secretKey: testSecretKey, retryPolicy: .immediate(maxAttempts: 4), logger: quietLogger)
        let error = await gatewayError { try await client.capturePaymentIntent(id: "pi_123", amountToCapture: nil, idempotencyKey: "cap-9") }
        guard case .serverErrorReplayed(let message)? = error else {
            Issue.record("expected .serverErrorReplayed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("HTTP 500"))
        #expect(transport.requests.count == 2)
        #expect(transport.requests.allSatisfy { $0.header("Idempotency-Key") == "cap-9" })
    }

    @Test("Original-Request naming another request also marks a replay; naming this one does not")
    func replayedByOriginalRequest() async {
        let transport = ScriptedStripeTransport([
            .stripeError(500, type: "api_error", headers: ["Request-Id": "req_1", "Original-Request": "req_1"]),
            .stripeError(500, type: "api_error", headers: ["Request-Id": "req_2", "Original-Request": "req_1"]),
            .intent(),
        ])
        let client = StripeClient(transport: transport, secretKey: testSecretKey, retryPolicy: .immediate(maxAttempts: 4), logger: quietLogger)
        let error = await gatewayError { try await client.cancelPaymentIntent(id: "pi_123", idempotencyKey: "can-9") }
        guard case .serverErrorReplayed? = error else {
            Issue.record("expected .serverErrorReplayed, got \(String(describing: error))")
            return
        }
        #expect(transport.requests.count == 2)
    }
}

@Suite("StripeClient cancellation")
struct StripeClientCancellationTests {
    @Test("a task cancelled while backing off stops retrying and reports unavailable")
    func cancelledDuringBackoff() async {
        let transport = ScriptedStripeTransport([.stripeError(500, type: "api_error")], repeatsLastStep: true)
        // The "sleep" cancels the task it runs in, as a shutdown would mid-wait.
        let client = StripeClient(
            transport: transport, secretKey: testSecretKey, retryPolicy: .immediate(maxAttempts: 4), logger: quietLogger,
            sleep: { _ in withUnsafeCurrentTask { $0?.cancel() } })
        let error = await Task {
            await gatewayError { try await client.retrievePaymentIntent(id: "pi_123") }
        }.value
        guard case .unavailable(let message)? = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(message.contains("cancelled"))
        #expect(transport.requests.count == 1)
    }
}
