import Foundation
import PolicyEngine

/// Every way a hold operation can fail, already in the API's terms: an HTTP status, a
/// human sentence, a machine code and optional details. The HTTP layer renders it as
/// `{"error","code","details"}`; the service stores the same rendering so an idempotent
/// retry gets the identical answer.
public struct HoldServiceError: Error, Sendable, Equatable {
    public var httpStatus: Int
    public var message: String
    public var code: String
    public var details: [String: PolicyValue]?

    public init(httpStatus: Int, message: String, code: String, details: [String: PolicyValue]? = nil) {
        self.httpStatus = httpStatus
        self.message = message
        self.code = code
        self.details = details
    }

    public static func invalidInput(_ message: String, field: String? = nil) -> HoldServiceError {
        HoldServiceError(httpStatus: 400, message: message, code: "invalid_request",
                         details: field.map { ["field": .string($0)] })
    }

    public static func notFound(holdID: String) -> HoldServiceError {
        HoldServiceError(httpStatus: 404, message: "No hold with id '\(holdID)'", code: "hold_not_found")
    }

    public static func conflict(_ message: String, code: String, details: [String: PolicyValue]? = nil) -> HoldServiceError {
        HoldServiceError(httpStatus: 409, message: message, code: code, details: details)
    }

    public static func stripeUnavailable(_ what: String, reason: String) -> HoldServiceError {
        HoldServiceError(
            httpStatus: 502, message: "Stripe did not confirm the \(what): \(reason). Retrying is safe: the retry reuses the same Stripe idempotency key.",
            code: "stripe_unavailable")
    }

    public static func storage(_ error: any Error) -> HoldServiceError {
        HoldServiceError(httpStatus: 500, message: "The hold store failed; nothing was acknowledged", code: "storage_error")
    }

    public static let stripeNotConfigured = HoldServiceError(
        httpStatus: 503,
        message: "Stripe is not configured: set STRIPE_SECRET_KEY, or start with --stripe emulator for the built-in emulator",
        code: "stripe_not_configured")

    /// The JSON body the API answers with.
    public var body: Data {
        var object: [String: PolicyValue] = ["error": .string(message), "code": .string(code)]
        if let details { object["details"] = .object(details) }
        return JSONCoding.encode(PolicyValue.object(object))
    }

    /// Rebuilds an error from a stored response (an idempotent replay).
    public init(stored: StoredResponse) {
        let object = (try? JSONDecoder().decode(PolicyValue.self, from: stored.body))?.objectValue ?? [:]
        self.init(
            httpStatus: stored.status,
            message: object["error"]?.stringValue ?? "The earlier attempt failed",
            code: object["code"]?.stringValue ?? "error",
            details: object["details"]?.objectValue)
    }

    public var stored: StoredResponse { StoredResponse(status: httpStatus, body: body) }

    /// What a final Stripe error means for our client.
    public static func fromStripe(_ detail: PaymentErrorDetail, doing what: String) -> HoldServiceError {
        var details: [String: PolicyValue] = ["stripe_type": .string(detail.type), "stripe_message": .string(detail.message)]
        if let code = detail.code { details["stripe_code"] = .string(code) }
        if let param = detail.param { details["param"] = .string(param) }
        if detail.type == "card_error" {
            if let decline = detail.declineCode { details["decline_code"] = .string(decline) }
            return HoldServiceError(httpStatus: 402, message: "The card was declined: \(detail.message)", code: "card_declined", details: details)
        }
        switch detail.code {
        case "payment_intent_unexpected_state", "charge_expired_for_capture":
            return HoldServiceError(httpStatus: 409, message: "Stripe refused the \(what): \(detail.message)", code: detail.code ?? "conflict", details: details)
        case "resource_missing":
            return HoldServiceError(httpStatus: 404, message: "Stripe does not know this PaymentIntent: \(detail.message)", code: "stripe_resource_missing", details: details)
        default:
            break
        }
        if detail.httpStatus == 401 || detail.httpStatus == 403 {
            return HoldServiceError(httpStatus: 502, message: "Stripe refused our API key; check STRIPE_SECRET_KEY", code: "stripe_authentication_failed")
        }
        if detail.type == "idempotency_error" {
            return HoldServiceError(httpStatus: 502, message: "Stripe refused the \(what) as an idempotency conflict: \(detail.message)", code: "stripe_idempotency_error", details: details)
        }
        return HoldServiceError(httpStatus: 400, message: "Stripe refused the \(what): \(detail.message)", code: "stripe_invalid_request", details: details)
    }
}

/// JSON with sorted keys: stable bodies for replays and stable request hashes.
public enum JSONCoding {
    public static func encode(_ value: PolicyValue) -> Data {
        value.jsonData
    }

    /// A flat object of strings (metadata), keys sorted.
    public static func encode(_ object: [String: String]) -> Data {
        PolicyValue.object(object.mapValues(PolicyValue.string)).jsonData
    }

    public static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding our own plain values cannot fail; an empty object is the safe fallback.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
