import ChittyChargeTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import StripeEmulator

@Suite struct StripeEmulatorServerTests {
    func headers(idempotencyKey: String? = nil) -> HTTPFields {
        var fields: HTTPFields = [
            .authorization: "Bearer \(testSecretKey)",
            .contentType: "application/x-www-form-urlencoded",
        ]
        if let idempotencyKey, let name = HTTPField.Name("Idempotency-Key") { fields[name] = idempotencyKey }
        return fields
    }

    func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }

    @Test func createAndCaptureOverHTTP() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let app = StripeEmulatorServer.buildApplication(emulator: emulator, logger: Logger(label: "stripe-emulator-test"))
        try await app.test(.router) { client in
            let id = try await client.execute(
                uri: "/v1/payment_intents", method: .post, headers: headers(idempotencyKey: "http-create"),
                body: ByteBuffer(string: "amount=4200&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true&metadata[note]=a+b%26c")
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[HTTPField.Name("request-id")!]?.hasPrefix("req_") == true)
                let body = json(response.body)
                #expect(body["status"] as? String == "requires_capture")
                #expect((body["metadata"] as? [String: String])?["note"] == "a b&c")
                return try #require(body["id"] as? String)
            }
            try await client.execute(
                uri: "/v1/payment_intents/\(id)?expand[]=latest_charge", method: .get, headers: headers()
            ) { response in
                #expect(response.status == .ok)
                #expect((json(response.body)["latest_charge"] as? [String: Any])?["object"] as? String == "charge")
            }
            try await client.execute(
                uri: "/v1/payment_intents/\(id)/capture", method: .post, headers: headers(idempotencyKey: "http-capture"),
                body: ByteBuffer(string: "amount_to_capture=4000")
            ) { response in
                #expect(response.status == .ok)
                let body = json(response.body)
                #expect(body["status"] as? String == "succeeded")
                #expect((body["amount_received"] as? NSNumber)?.intValue == 4000)
            }
            try await client.execute(
                uri: "/v1/payment_intents/\(id)/capture", method: .post, headers: headers(idempotencyKey: "http-capture"),
                body: ByteBuffer(string: "amount_to_capture=4000")
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("idempotent-replayed")!] == "true")
            }
            try await client.execute(uri: "/v1/payment_intents/\(id)/cancel", method: .post, headers: headers()) { response in
                #expect(response.status == .badRequest)
                #expect((json(response.body)["error"] as? [String: Any])?["code"] as? String == "payment_intent_unexpected_state")
            }
            try await client.execute(uri: "/v1/nothing/here", method: .get, headers: headers()) { response in
                #expect(response.status == .notFound)
                #expect((json(response.body)["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
            }
        }
        #expect(await emulator.paymentIntent(id: try #require(await emulator.paymentIntents().first?.id))?.amountReceived == 4000)
    }

    @Test func unreachableAnswers503WithoutAStripeBody() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        await emulator.setUnreachable(true)
        let app = StripeEmulatorServer.buildApplication(emulator: emulator, logger: Logger(label: "stripe-emulator-test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/payment_intents/pi_x", method: .get, headers: headers()) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
        #expect(await emulator.calls().isEmpty)
    }
}
