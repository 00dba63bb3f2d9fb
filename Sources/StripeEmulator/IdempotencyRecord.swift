import Foundation
import StripeAPI

/// What Stripe keeps for an `Idempotency-Key`: which request it was and the answer.
struct IdempotencyRecord: Sendable {
    /// Method and path, so reusing a key on another endpoint gets its own message.
    var endpoint: String
    /// The decoded parameters, sorted: a retry must send the same ones.
    var parameterFingerprint: String
    /// Replayed byte for byte; headers without `request-id`, which is per request.
    var response: StripeHTTPResponse
    var originalRequestID: String
    var storedAt: Date

    static func fingerprint(_ parameters: FormParameters) -> String {
        parameters.flattened().sorted { $0.key < $1.key }
            .map { "\($0.key.utf8.count):\($0.key)=\($0.value.utf8.count):\($0.value)" }
            .joined(separator: "&")
    }
}
