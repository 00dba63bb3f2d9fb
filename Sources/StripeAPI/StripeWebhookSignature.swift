import ChittyCharge
import Crypto
import Foundation

/// Stripe's webhook signature scheme: header `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`,
/// each `v1` an HMAC-SHA256 of `"<t>.<raw body>"` keyed with the whole `whsec_…` secret.
/// Verification runs on the raw bytes, before anything parses them.
public enum StripeWebhookSignature {
    public static let defaultTolerance: TimeInterval = 300

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missingHeader
        case malformedHeader
        case noTimestamp
        case noV1Signature
        case timestampOutsideTolerance(seconds: Int)
        case noMatchingSignature

        public var description: String {
            switch self {
            case .missingHeader: "The Stripe-Signature header is missing"
            case .malformedHeader: "The Stripe-Signature header is malformed"
            case .noTimestamp: "The Stripe-Signature header has no timestamp (t=)"
            case .noV1Signature: "The Stripe-Signature header has no v1 signature"
            case .timestampOutsideTolerance(let seconds):
                "The Stripe-Signature timestamp is \(abs(seconds)) seconds \(seconds > 0 ? "old" : "in the future"), beyond the tolerance"
            case .noMatchingSignature: "No v1 signature matches the payload for this endpoint's secret"
            }
        }
    }

    /// Accepts when any `v1` signature matches (compared in constant time) and the
    /// timestamp is within `tolerance` of `now`, either way. Other schemes (`v0`) are ignored.
    public static func verify(payload: Data, header: String?, secret: String, tolerance: TimeInterval = defaultTolerance, now: Date) throws(Failure) {
        guard let header, !header.isEmpty else { throw .missingHeader }
        var timestamp: Int64?
        var signatures: [Data] = []
        for element in header.split(separator: ",") {
            let parts = element.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw .malformedHeader }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "t":
                guard let seconds = Int64(value) else { throw .malformedHeader }
                timestamp = seconds
            case "v1":
                // A value that is not hex can never match; skip it rather than fail, as
                // another v1 (a rotated secret) may still match.
                if let bytes = Hex.decode(value) { signatures.append(Data(bytes)) }
            default:
                continue
            }
        }
        guard let timestamp else { throw .noTimestamp }
        guard !signatures.isEmpty else { throw .noV1Signature }
        // `t` comes from the sender: a huge negative value would overflow a plain
        // subtraction and trap, so the overflow is caught and judged stale.
        let (age, overflowed) = Int(now.timeIntervalSince1970).subtractingReportingOverflow(Int(timestamp))
        guard !overflowed, Double(age.magnitude) <= tolerance else {
            throw .timestampOutsideTolerance(seconds: overflowed ? Int.max : age)
        }
        let expected = signature(payload: payload, secret: secret, timestamp: timestamp)
        var matched = false
        for candidate in signatures where candidate.count == expected.count {
            var difference: UInt8 = 0
            for index in 0..<expected.count { difference |= candidate[index] ^ expected[index] }
            if difference == 0 { matched = true }
        }
        guard matched else { throw .noMatchingSignature }
    }

    /// The header Stripe would send: for the emulator's deliveries and for tests.
    public static func header(payload: Data, secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(Hex.encode(signature(payload: payload, secret: secret, timestamp: timestamp)))"
    }

    static func signature(payload: Data, secret: String, timestamp: Int64) -> Data {
        var signed = Data("\(timestamp).".utf8)
        signed.append(payload)
        let key = SymmetricKey(data: Data(secret.utf8))
        return Data(HMAC<SHA256>.authenticationCode(for: signed, using: key))
    }
}
