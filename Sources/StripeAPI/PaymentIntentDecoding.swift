import ChittyCharge
import Foundation

/// Why a body could not be read as a PaymentIntent.
public struct PaymentIntentDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Reads a PaymentIntent leniently: only `id` and `status` are required, everything else
/// is taken when present and of the expected type and ignored otherwise. Stripe adds
/// fields and changes expansions over API versions; a hold must not become unreadable
/// because an optional field moved. Usable for API responses and for the `data.object`
/// of webhook events.
public enum PaymentIntentDecoding {
    public static func paymentIntent(from body: Data) throws(PaymentIntentDecodingError) -> PaymentIntent {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: body)
        } catch {
            // No excerpt of the body: a success body may hold a client_secret, and this
            // reason ends up in logs.
            throw PaymentIntentDecodingError(reason: "the body (\(body.count) bytes) is not JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw PaymentIntentDecodingError(reason: "the body (\(body.count) bytes) is JSON but not an object")
        }
        return try paymentIntent(fromJSONObject: object)
    }

    public static func paymentIntent(fromJSONObject object: [String: Any]) throws(PaymentIntentDecodingError) -> PaymentIntent {
        guard let id = object["id"] as? String, !id.isEmpty else {
            throw PaymentIntentDecodingError(reason: "the PaymentIntent has no \"id\" string")
        }
        guard let status = object["status"] as? String, !status.isEmpty else {
            throw PaymentIntentDecodingError(reason: "the PaymentIntent \(id) has no \"status\" string")
        }
        var metadata: [String: String] = [:]
        if let rawMetadata = object["metadata"] as? [String: Any] {
            // Stripe stores only strings; anything else is not ours to interpret.
            for (key, value) in rawMetadata {
                if let text = value as? String { metadata[key] = text }
            }
        }
        return PaymentIntent(
            id: id,
            status: PaymentIntentStatus(status),
            amount: integer(object["amount"]),
            amountCapturable: integer(object["amount_capturable"]),
            amountReceived: integer(object["amount_received"]),
            currency: object["currency"] as? String,
            clientSecret: object["client_secret"] as? String,
            created: date(object["created"]),
            canceledAt: date(object["canceled_at"]),
            metadata: metadata,
            captureBefore: captureBefore(latestCharge: object["latest_charge"]),
            lastPaymentError: (object["last_payment_error"] as? [String: Any]).flatMap {
                // A PaymentIntent's failure is a card failure: Stripe reports those as 402.
                StripeErrorDecoding.errorDetail(fromErrorObject: $0, httpStatus: 402)
            },
            paymentMethodTypes: (object["payment_method_types"] as? [Any])?.compactMap { $0 as? String } ?? [],
            chargeAmountCaptured: integer((object["latest_charge"] as? [String: Any])?["amount_captured"])
        )
    }

    /// `latest_charge` is a charge id unless expanded; only the expanded object carries
    /// `payment_method_details.card.capture_before`, the hold's real deadline.
    private static func captureBefore(latestCharge: Any?) -> Date? {
        guard let charge = latestCharge as? [String: Any],
            let details = charge["payment_method_details"] as? [String: Any],
            let card = details["card"] as? [String: Any]
        else { return nil }
        return date(card["capture_before"])
    }

    /// A JSON integer. `JSONSerialization` gives NSNumber; `as? Int` refuses fractions,
    /// and booleans are excluded explicitly since they bridge to 0/1.
    private static func integer(_ value: Any?) -> Int? {
        guard let value, !isBoolean(value) else { return nil }
        return value as? Int
    }

    /// Unix seconds (integer or fractional) as a Date.
    private static func date(_ value: Any?) -> Date? {
        guard let value, !isBoolean(value) else { return nil }
        if let seconds = value as? Int { return Date(timeIntervalSince1970: TimeInterval(seconds)) }
        if let seconds = value as? Double, seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        return nil
    }

    private static func isBoolean(_ value: Any) -> Bool {
        // Foundation's JSON booleans are NSNumbers of objCType "c" (char) that would
        // otherwise pass as the integers 0 and 1.
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }
}
