import ChittyCharge
import Foundation
import StripeAPI
import Testing

@Suite("PaymentIntentDecoding")
struct PaymentIntentDecodingTests {
    private func decode(_ json: String) throws(PaymentIntentDecodingError) -> PaymentIntent {
        try PaymentIntentDecoding.paymentIntent(from: Data(json.utf8))
    }

    @Test("only id and status are required")
    func minimal() throws {
        let intent = try decode(#"{"id":"pi_min","status":"requires_payment_method"}"#)
        #expect(intent == PaymentIntent(id: "pi_min", status: .requiresPaymentMethod))
    }

    @Test("every field we use, with latest_charge expanded")
    func full() throws {
        let intent = try decode("""
            {"id":"pi_full","status":"requires_capture","amount":5000,"amount_capturable":4000,"amount_received":0,
             "currency":"usd","client_secret":"pi_full_secret_x","created":1700000000,"canceled_at":null,
             "metadata":{"property_id":"p1","tenant_id":"t1"},
             "latest_charge":{"id":"ch_1","payment_method_details":{"type":"card","card":{"brand":"visa","capture_before":1700410000}}},
             "some_future_field":{"nested":[1,2,3]}}
            """)
        #expect(intent == PaymentIntent(
            id: "pi_full", status: .requiresCapture, amount: 5000, amountCapturable: 4000, amountReceived: 0,
            currency: "usd", clientSecret: "pi_full_secret_x", created: Date(timeIntervalSince1970: 1_700_000_000),
            canceledAt: nil, metadata: ["property_id": "p1", "tenant_id": "t1"],
            captureBefore: Date(timeIntervalSince1970: 1_700_410_000)))
    }

    @Test("latest_charge as a plain id gives no deadline")
    func latestChargeAsString() throws {
        let intent = try decode(#"{"id":"pi_1","status":"requires_capture","latest_charge":"ch_1"}"#)
        #expect(intent.captureBefore == nil)
    }

    @Test("a canceled intent carries canceled_at")
    func canceledAt() throws {
        let intent = try decode(#"{"id":"pi_1","status":"canceled","canceled_at":1700001234}"#)
        #expect(intent.status == .canceled)
        #expect(intent.canceledAt == Date(timeIntervalSince1970: 1_700_001_234))
    }

    @Test("last_payment_error becomes a 402 PaymentErrorDetail")
    func lastPaymentError() throws {
        let intent = try decode("""
            {"id":"pi_1","status":"requires_payment_method","last_payment_error":
              {"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined.","param":"payment_method"}}
            """)
        #expect(intent.lastPaymentError == PaymentErrorDetail(
            httpStatus: 402, type: "card_error", code: "card_declined", declineCode: "generic_decline",
            message: "Your card was declined.", param: "payment_method"))
    }

    @Test("optional fields of the wrong type are ignored, not fatal")
    func wrongTypesIgnored() throws {
        let intent = try decode("""
            {"id":"pi_1","status":"processing","amount":"5000","amount_capturable":true,"amount_received":1.5,
             "currency":7,"created":"yesterday","metadata":{"ok":"yes","count":3},"latest_charge":{"payment_method_details":"x"},
             "last_payment_error":"boom"}
            """)
        #expect(intent == PaymentIntent(id: "pi_1", status: .processing, metadata: ["ok": "yes"]))
    }

    @Test("a status Stripe adds later is kept as spelled")
    func unknownStatus() throws {
        #expect(try decode(#"{"id":"pi_1","status":"requires_reauthorization"}"#).status.rawValue == "requires_reauthorization")
    }

    @Test("missing id or status, or a body that is not a JSON object, is an error", arguments: [
        #"{"status":"succeeded"}"#, #"{"id":"pi_1"}"#, #"{"id":"","status":"succeeded"}"#, #"{"id":5,"status":"succeeded"}"#,
        "[]", "null", "", "<html></html>",
    ])
    func unreadable(json: String) {
        #expect(throws: PaymentIntentDecodingError.self) { try decode(json) }
    }

    @Test("a failure reason never quotes the body, which may hold a client_secret")
    func reasonHidesBody() {
        do {
            _ = try decode(#"{"client_secret":"pi_1_secret_hush","status":"#)
            Issue.record("expected a decoding error")
        } catch {
            #expect(!error.reason.contains("secret"))
        }
    }
}

@Suite("StripeErrorDecoding")
struct StripeErrorDecodingTests {
    @Test("a Stripe error body keeps every field and the status")
    func errorBody() {
        let body = Data(#"{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"already captured","param":"amount_to_capture","payment_intent":{"id":"pi_1"}}}"#.utf8)
        #expect(StripeErrorDecoding.errorDetail(fromResponseBody: body, httpStatus: 400) == PaymentErrorDetail(
            httpStatus: 400, type: "invalid_request_error", code: "payment_intent_unexpected_state",
            message: "already captured", param: "amount_to_capture", paymentIntentID: "pi_1"))
    }

    @Test("bodies without an error object are not errors", arguments: ["{}", #"{"error":"x"}"#, #"{"error":{}}"#, "oops"])
    func notAnError(body: String) {
        #expect(StripeErrorDecoding.errorDetail(fromResponseBody: Data(body.utf8), httpStatus: 400) == nil)
    }
}
