import ChittyCharge
import Foundation
import StripeAPI
import Testing

@Suite("StripeClient request shapes")
struct StripeClientRequestTests {
    @Test("create: POST /v1/payment_intents, a manual-capture form body, and the headers Stripe needs")
    func createRequest() async throws {
        let transport = ScriptedStripeTransport([.intent()])
        let params = CreatePaymentIntentParams(
            amount: 5000, currency: "usd", description: "Security deposit & fees", receiptEmail: "guest@example.com",
            metadata: ["tenant_id": "t 1", "property_id": "p1"])

        _ = try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "create-op-7")

        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/payment_intents")
        #expect(request.header("Authorization") == "Bearer \(testSecretKey)")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(request.header("Idempotency-Key") == "create-op-7")
        #expect(request.header("Stripe-Version") == StripeClient.apiVersion)
        #expect(request.header("User-Agent") == "ChittyCharge/1.0")

        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body == "amount=5000&currency=usd&capture_method=manual&description=Security%20deposit%20%26%20fees"
            + "&receipt_email=guest%40example.com&metadata[property_id]=p1&metadata[tenant_id]=t%201&expand[0]=latest_charge")
        let fields = formFields(request.body)
        #expect(fields["confirm"] == nil)
        #expect(fields["off_session"] == nil)
        #expect(fields["customer"] == nil)
    }

    @Test("create with a saved card: customer, payment_method, confirm and off_session")
    func createWithSavedCard() async throws {
        let transport = ScriptedStripeTransport([.intent()])
        let params = CreatePaymentIntentParams(
            amount: 1200, currency: "eur", description: "Hold", customer: "cus_9", paymentMethod: "pm_card_visa", confirm: true)

        _ = try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "k")

        let fields = formFields(try #require(transport.requests.first).body)
        #expect(fields["customer"] == "cus_9")
        #expect(fields["payment_method"] == "pm_card_visa")
        #expect(fields["confirm"] == "true")
        #expect(fields["off_session"] == "true")
        #expect(fields["capture_method"] == "manual")
        #expect(fields["receipt_email"] == nil)
    }

    @Test("create with payment_method_types: each type as an indexed array entry, before expand")
    func createWithPaymentMethodTypes() async throws {
        let transport = ScriptedStripeTransport([.intent()])
        let params = CreatePaymentIntentParams(amount: 1200, currency: "usd", description: "Hold", paymentMethodTypes: ["card"])
        _ = try await makeClient(transport).createPaymentIntent(params, idempotencyKey: "k")
        let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
        #expect(body.hasSuffix("&payment_method_types[0]=card&expand[0]=latest_charge"), "\(body)")
    }

    @Test("retrieve: GET with the charge expanded, no body, no idempotency key, id percent-encoded")
    func retrieveRequest() async throws {
        let transport = ScriptedStripeTransport([.intent(), .intent()])
        let client = makeClient(transport)

        _ = try await client.retrievePaymentIntent(id: "pi_123")
        _ = try await client.retrievePaymentIntent(id: "pi/../x y")

        let requests = transport.requests
        #expect(requests.map(\.method) == ["GET", "GET"])
        #expect(requests.map(\.path) == [
            "/v1/payment_intents/pi_123?expand[0]=latest_charge",
            "/v1/payment_intents/pi%2F..%2Fx%20y?expand[0]=latest_charge",
        ])
        #expect(requests.allSatisfy { $0.body.isEmpty && $0.header("Idempotency-Key") == nil && $0.header("Content-Type") == nil })
        #expect(requests.allSatisfy { $0.header("Authorization") == "Bearer \(testSecretKey)" })
    }

    @Test("capture: amount_to_capture only when given, and the charge expanded")
    func captureRequest() async throws {
        let transport = ScriptedStripeTransport([.intent(status: "succeeded"), .intent(status: "succeeded")])
        let client = makeClient(transport)

        let partial = try await client.capturePaymentIntent(id: "pi_123", amountToCapture: 1500, idempotencyKey: "cap-a")
        _ = try await client.capturePaymentIntent(id: "pi_123", amountToCapture: nil, idempotencyKey: "cap-b")

        #expect(partial.status == .succeeded)
        let requests = transport.requests
        #expect(requests.map(\.path) == ["/v1/payment_intents/pi_123/capture", "/v1/payment_intents/pi_123/capture"])
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == [
            "amount_to_capture=1500&expand[0]=latest_charge", "expand[0]=latest_charge",
        ])
        #expect(requests.map { $0.header("Idempotency-Key") } == ["cap-a", "cap-b"])
    }

    @Test("cancel: POST /v1/payment_intents/{id}/cancel with its idempotency key")
    func cancelRequest() async throws {
        let transport = ScriptedStripeTransport([.intent(status: "canceled")])
        let intent = try await makeClient(transport).cancelPaymentIntent(id: "pi_123", idempotencyKey: "cancel-9")
        #expect(intent.status == .canceled)
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/payment_intents/pi_123/cancel")
        #expect(request.header("Idempotency-Key") == "cancel-9")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
    }

    @Test("the created intent comes back decoded, deadline included")
    func createDecodesResponse() async throws {
        let transport = ScriptedStripeTransport([.intent("pi_new")])
        let intent = try await makeClient(transport).createPaymentIntent(
            CreatePaymentIntentParams(amount: 5000, currency: "usd", description: "d"), idempotencyKey: "k")
        #expect(intent.id == "pi_new")
        #expect(intent.amountCapturable == 5000)
        #expect(intent.captureBefore == Date(timeIntervalSince1970: 1_700_600_000))
        #expect(intent.metadata == ["property_id": "p1"])
    }
}
