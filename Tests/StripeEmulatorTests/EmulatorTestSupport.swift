import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import StripeAPI
import Synchronization
import Testing

@testable import StripeEmulator

/// Where the emulator tests' manual clocks start, so their timestamps are the same every run.
let emulatorTestStart = Date(timeIntervalSince1970: 1_750_000_000)

let testSecretKey = "sk_test_emulator_0123456789"

/// A decoded JSON response, read with subscripts in tests.
struct ResponseJSON {
    let status: Int
    let headers: [String: String]
    let body: Data
    let object: [String: Any]

    init(_ response: StripeHTTPResponse) {
        status = response.status
        headers = response.headers
        body = response.body
        object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
    }

    subscript(_ key: String) -> Any? { object[key] }
    func string(_ key: String) -> String? { object[key] as? String }
    func int(_ key: String) -> Int? { (object[key] as? NSNumber)?.intValue }
    var error: [String: Any] { object["error"] as? [String: Any] ?? [:] }
    func errorField(_ key: String) -> String? { error[key] as? String }
}

extension StripeEmulator {
    /// Sends a request as the Stripe client would: form body, bearer key, optional key.
    nonisolated func send(_ method: String, _ path: String, form: String = "", idempotencyKey: String? = nil,
              apiKey: String? = testSecretKey) async -> ResponseJSON {
        var headers = ["Content-Type": "application/x-www-form-urlencoded"]
        if let apiKey { headers["Authorization"] = "Bearer \(apiKey)" }
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        let request = StripeHTTPRequest(method: method, path: path, headers: headers, body: Data(form.utf8))
        return ResponseJSON(await handle(request))
    }

    /// Creates a manual-capture intent for `amount` cents and confirms it with `paymentMethod`.
    nonisolated func placeHold(amount: Int = 5_000, paymentMethod: String = "pm_card_visa", extra: String = "") async -> ResponseJSON {
        await send("POST", "/v1/payment_intents",
                   form: "amount=\(amount)&currency=usd&capture_method=manual&payment_method=\(paymentMethod)&confirm=true\(extra)")
    }
}
