import ChittyCharge
import Foundation

/// Reads Stripe's error object, `{"error":{"type","code","decline_code","message","param",…}}`,
/// into a `PaymentErrorDetail`. Shared by error responses and a PaymentIntent's
/// `last_payment_error`, which has the same shape.
public enum StripeErrorDecoding {
    /// The detail of an error response, or nil when the body is not a Stripe error.
    public static func errorDetail(fromResponseBody body: Data, httpStatus: Int) -> PaymentErrorDetail? {
        guard let root = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let error = root["error"] as? [String: Any]
        else { return nil }
        return errorDetail(fromErrorObject: error, httpStatus: httpStatus)
    }

    /// An error object (the value of `"error"`, or of `"last_payment_error"`). Nil when it
    /// has neither a type nor a message, since then it says nothing.
    public static func errorDetail(fromErrorObject object: [String: Any], httpStatus: Int) -> PaymentErrorDetail? {
        let type = nonEmptyString(object["type"])
        let message = nonEmptyString(object["message"])
        let code = nonEmptyString(object["code"])
        guard type != nil || message != nil || code != nil else { return nil }
        return PaymentErrorDetail(
            httpStatus: httpStatus,
            // Stripe always sends a type; `api_error` is its own catch-all if it did not.
            type: type ?? "api_error",
            code: code,
            declineCode: nonEmptyString(object["decline_code"]),
            message: message ?? "Stripe gave no message (HTTP \(httpStatus)\(code.map { ", code \($0)" } ?? ""))",
            param: nonEmptyString(object["param"]),
            paymentIntentID: nonEmptyString((object["payment_intent"] as? [String: Any])?["id"])
                ?? nonEmptyString(object["payment_intent"])
        )
    }

    /// The detail for an error response whose body is not a readable Stripe error, so
    /// callers still learn the status and a hint of what came back.
    public static func unreadableErrorDetail(body: Data, httpStatus: Int) -> PaymentErrorDetail {
        PaymentErrorDetail(
            httpStatus: httpStatus,
            type: "api_error",
            message: "Stripe answered HTTP \(httpStatus) with a body that is not a Stripe error object"
                + bodyExcerpt(body)
        )
    }

    /// ` (body: "…")`, the first bytes of a body for messages, or `(empty body)`. Only used
    /// for bodies that failed to parse as an error, which carry no secrets of ours.
    static func bodyExcerpt(_ body: Data, limit: Int = 200) -> String {
        if body.isEmpty { return " (empty body)" }
        let text = String(decoding: body.prefix(limit), as: UTF8.self)
        return " (body: \"\(text)\(body.count > limit ? "…" : "")\")"
    }

    private static func nonEmptyString(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        return text
    }
}
