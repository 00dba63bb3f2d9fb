@testable import StripeAPI
import Testing

@Suite("HTTPClientStripeTransport")
struct HTTPClientStripeTransportTests {
    @Test("the API base and the request path join with exactly one slash", arguments: [
        ("https://api.stripe.com", "/v1/payment_intents", "https://api.stripe.com/v1/payment_intents"),
        ("https://api.stripe.com/", "/v1/payment_intents", "https://api.stripe.com/v1/payment_intents"),
        ("http://127.0.0.1:12111/stripe//", "/v1/payment_intents/pi_1?expand[0]=latest_charge",
         "http://127.0.0.1:12111/stripe/v1/payment_intents/pi_1?expand[0]=latest_charge"),
        ("http://localhost:8080/emulator", "v1/payment_intents", "http://localhost:8080/emulator/v1/payment_intents"),
    ])
    func urlJoining(apiBase: String, path: String, expected: String) {
        #expect(HTTPClientStripeTransport.url(apiBase: apiBase, path: path) == expected)
    }
}
