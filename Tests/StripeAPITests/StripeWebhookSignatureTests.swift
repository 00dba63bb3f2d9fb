import Foundation
import StripeAPI
import Testing

/// `Fixtures/webhook_signature_vectors.json`, made by Stripe's own Python SDK
/// (`Fixtures/make_webhook_signature_vectors.py`): an independent implementation to
/// check our verifier against, read through `#filePath` so no bundle is needed.
struct WebhookSignatureVectorFile: Decodable {
    struct Generator: Decodable {
        var package: String
        var version: String
    }

    var generator: Generator
    var cases: [WebhookSignatureVector]

    static func load() throws -> WebhookSignatureVectorFile {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/webhook_signature_vectors.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(WebhookSignatureVectorFile.self, from: Data(contentsOf: url))
    }
}

struct WebhookSignatureVector: Decodable, Sendable, CustomTestStringConvertible {
    struct StripeVerdict: Decodable, Sendable {
        var valid: Bool
        var error: String?
        /// missing_header, unparsable_header, no_v1_signature, no_matching_signature,
        /// timestamp_outside_tolerance.
        var errorKind: String?
    }

    var name: String
    var description: String
    var payload: String
    var header: String
    var secret: String
    var now: Int64
    var tolerance: Double
    var stripe: StripeVerdict
    /// Set where ChittyCharge deliberately differs from stripe-python, saying why.
    var chittychargeDiffers: String?

    var testDescription: String { name }

    /// Our verifier's verdict: nil when it accepts.
    func verifyWithOurs() -> StripeWebhookSignature.Failure? {
        do throws(StripeWebhookSignature.Failure) {
            try StripeWebhookSignature.verify(
                payload: Data(payload.utf8), header: header, secret: secret, tolerance: tolerance,
                now: Date(timeIntervalSince1970: TimeInterval(now)))
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct StripeWebhookSignatureTests {
    /// Where we differ from stripe-python on purpose, and what we answer instead (nil:
    /// accepted). Kept in step with the cases the fixture marks `chittycharge_differs`.
    static let deliberateDifferences: [String: StripeWebhookSignature.Failure?] = [
        // stripe-python accepts any future t; a post-dated signature would stay replayable.
        "future_beyond_tolerance": .timestampOutsideTolerance(seconds: -3600),
        // stripe-python ignores an element without '='; we reject what Stripe never sends.
        "stray_element": .malformedHeader,
        // stripe-python compares hex text; we compare decoded bytes, so case is irrelevant.
        "uppercase_hex": nil,
    ]

    /// The failures of ours that mean the same as each stripe-python error.
    static func ourFailureMatches(stripeErrorKind: String?, _ failure: StripeWebhookSignature.Failure) -> Bool {
        switch (stripeErrorKind, failure) {
        case ("missing_header", .missingHeader): true
        // stripe-python has one error for every header it cannot parse, a missing t included.
        case ("unparsable_header", .malformedHeader), ("unparsable_header", .noTimestamp): true
        case ("no_v1_signature", .noV1Signature): true
        case ("no_matching_signature", .noMatchingSignature): true
        case ("timestamp_outside_tolerance", .timestampOutsideTolerance): true
        default: false
        }
    }

    static let secret = "whsec_test_chittycharge_0123456789abcdef"
    static let payload = Data(#"{"id":"evt_ours","object":"event","type":"charge.captured"}"#.utf8)
    static let timestamp: Int64 = 1_750_000_000

    static func verify(_ header: String?, payload: Data = payload, secret: String = secret,
                       tolerance: TimeInterval = StripeWebhookSignature.defaultTolerance,
                       nowOffset: Int64 = 0) -> StripeWebhookSignature.Failure? {
        do throws(StripeWebhookSignature.Failure) {
            try StripeWebhookSignature.verify(
                payload: payload, header: header, secret: secret, tolerance: tolerance,
                now: Date(timeIntervalSince1970: TimeInterval(timestamp + nowOffset)))
            return nil
        } catch {
            return error
        }
    }

    // MARK: - stripe-python's vectors

    @Test func fixtureIsFromStripePythonAndCoversTheRequiredCases() throws {
        let file = try WebhookSignatureVectorFile.load()
        #expect(file.generator.package.hasPrefix("stripe"))
        #expect(!file.generator.version.isEmpty)
        let names = Set(file.cases.map(\.name))
        for required in ["valid", "wrong_secret", "modified_body", "stale", "future_beyond_tolerance",
                         "two_v1_second_matches", "v0_only", "missing_t", "malformed_header", "unicode_payload"] {
            #expect(names.contains(required), "fixture lacks case \(required)")
        }
        // Every difference the fixture declares is asserted below, and nothing else differs.
        let declared = Set(file.cases.filter { $0.chittychargeDiffers != nil }.map(\.name))
        #expect(declared == Set(Self.deliberateDifferences.keys))
    }

    @Test(arguments: try WebhookSignatureVectorFile.load().cases)
    func agreesWithStripePython(_ vector: WebhookSignatureVector) {
        let ours = vector.verifyWithOurs()
        if vector.chittychargeDiffers != nil {
            // Recorded honestly in the fixture, answered differently here on purpose.
            guard let expected = Self.deliberateDifferences[vector.name] else {
                Issue.record("\(vector.name) is marked as a deliberate difference the test does not know")
                return
            }
            #expect(ours == expected, "\(vector.name): \(vector.chittychargeDiffers ?? "")")
            #expect(vector.stripe.valid == (expected != nil), "the fixture should show stripe-python deciding the other way")
            return
        }
        if vector.stripe.valid {
            #expect(ours == nil, "\(vector.name): stripe-python accepts, we answered \(ours.map(String.init(describing:)) ?? "")")
        } else if let ours {
            #expect(Self.ourFailureMatches(stripeErrorKind: vector.stripe.errorKind, ours),
                    "\(vector.name): stripe-python says \(vector.stripe.error ?? "?"), we say \(ours)")
        } else {
            Issue.record("\(vector.name): stripe-python rejects (\(vector.stripe.error ?? "?")), we accepted")
        }
    }

    /// Our signer against stripe-python's: same payload, secret and t give the same header.
    @Test func ourHeaderMatchesStripePythonsSignature() throws {
        let file = try WebhookSignatureVectorFile.load()
        for name in ["valid", "unicode_payload"] {
            let vector = try #require(file.cases.first { $0.name == name })
            let timestampText = try #require(vector.header.split(separator: ",").first?.dropFirst(2))
            let timestamp = try #require(Int64(timestampText))
            let ours = StripeWebhookSignature.header(payload: Data(vector.payload.utf8), secret: vector.secret,
                                                     timestamp: timestamp)
            #expect(ours == vector.header)
        }
    }

    // MARK: - Our own cases

    @Test func headerRoundTrip() throws {
        let header = StripeWebhookSignature.header(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp)
        #expect(header.hasPrefix("t=\(Self.timestamp),v1="))
        let hex = header.dropFirst("t=\(Self.timestamp),v1=".count)
        #expect(hex.count == 64)
        #expect(hex.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(Self.verify(header) == nil)
        #expect(Self.verify(header, secret: Self.secret + "x") == .noMatchingSignature)
        #expect(Self.verify(header, payload: Self.payload + Data(" ".utf8)) == .noMatchingSignature)
    }

    @Test func uppercaseHexIsAcceptedBecauseBytesAreCompared() {
        let header = StripeWebhookSignature.header(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp)
        #expect(Self.verify(header.uppercased().replacingOccurrences(of: "T=", with: "t=")
            .replacingOccurrences(of: "V1=", with: "v1=")) == nil)
    }

    @Test func nonHexV1IsIgnoredWhenAnotherMatches() {
        let header = StripeWebhookSignature.header(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp)
        let good = header.split(separator: ",")[1]
        #expect(Self.verify("t=\(Self.timestamp),v1=zz-not-hex,\(good)") == nil)
        #expect(Self.verify("t=\(Self.timestamp),v1=abc,\(good)") == nil, "odd-length hex is skipped")
        // With nothing usable left there is no v1 to check at all.
        #expect(Self.verify("t=\(Self.timestamp),v1=zz-not-hex") == .noV1Signature)
        // Wrong-length hex is a candidate that cannot match.
        #expect(Self.verify("t=\(Self.timestamp),v1=abcd") == .noMatchingSignature)
    }

    @Test func toleranceBoundaryIsInclusiveAtExactly300Seconds() {
        let header = StripeWebhookSignature.header(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp)
        #expect(Self.verify(header, nowOffset: 300) == nil)
        #expect(Self.verify(header, nowOffset: 301) == .timestampOutsideTolerance(seconds: 301))
        #expect(Self.verify(header, nowOffset: -300) == nil)
        #expect(Self.verify(header, nowOffset: -301) == .timestampOutsideTolerance(seconds: -301))
        #expect(Self.verify(header, tolerance: 10, nowOffset: 10) == nil)
        #expect(Self.verify(header, tolerance: 10, nowOffset: 11) == .timestampOutsideTolerance(seconds: 11))
    }

    /// `t` is the sender's: extreme values must be judged, not trap on overflow.
    @Test func extremeTimestampsAreRejectedWithoutTrapping() {
        for timestamp in [Int64.min, Int64.min + 1, Int64.max, -1, 0] {
            let header = StripeWebhookSignature.header(payload: Self.payload, secret: Self.secret, timestamp: timestamp)
            guard case .timestampOutsideTolerance? = Self.verify(header) else {
                Issue.record("t=\(timestamp) was not rejected as outside the tolerance")
                continue
            }
        }
    }

    @Test func headerShapes() {
        let header = StripeWebhookSignature.header(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp)
        let good = header.split(separator: ",")[1]
        #expect(Self.verify(nil) == .missingHeader)
        #expect(Self.verify("") == .missingHeader)
        #expect(Self.verify(String(good)) == .noTimestamp)
        #expect(Self.verify("t=\(Self.timestamp)") == .noV1Signature)
        #expect(Self.verify("t=soon,\(good)") == .malformedHeader)
        // Order does not matter, and v0 or unknown schemes are ignored.
        #expect(Self.verify("v0=00,\(good),t=\(Self.timestamp),x1=whatever") == nil)
    }
}
