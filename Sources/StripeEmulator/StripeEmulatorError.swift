import Foundation

/// An error the emulator answers with, in Stripe's shape:
/// `{"error":{"type","code","decline_code","message","param","payment_intent",…}}`.
public struct StripeEmulatorError: Error, Sendable, Equatable {
    public var httpStatus: Int
    /// `api_error`, `card_error`, `idempotency_error` or `invalid_request_error`.
    public var type: String
    public var code: String?
    public var declineCode: String?
    public var message: String
    public var param: String?
    /// The charge a card error created (`error.charge`).
    public var chargeID: String?
    /// The intent the error is about; its JSON goes into `error.payment_intent`.
    public var paymentIntentID: String?
    /// Stripe's rule: a request that failed parameter validation did not execute, so its
    /// result is not kept for its idempotency key and a corrected retry with the same key
    /// runs. Everything that executed (declines, state errors) is kept and replayed.
    var failedValidation: Bool

    public init(httpStatus: Int, type: String, code: String? = nil, declineCode: String? = nil,
                message: String, param: String? = nil, chargeID: String? = nil, paymentIntentID: String? = nil) {
        self.httpStatus = httpStatus
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.param = param
        self.chargeID = chargeID
        self.paymentIntentID = paymentIntentID
        self.failedValidation = false
    }

    /// The `error` hash; `payment_intent` is attached for errors about an intent, as Stripe does.
    func json(paymentIntent: StripeJSON? = nil) -> StripeJSON {
        var fields: [String: StripeJSON] = ["type": .string(type), "message": .string(message)]
        if let code {
            fields["code"] = .string(code)
            fields["doc_url"] = .string("https://stripe.com/docs/error-codes/\(code.replacingOccurrences(of: "_", with: "-"))")
        }
        if let declineCode { fields["decline_code"] = .string(declineCode) }
        if let param { fields["param"] = .string(param) }
        if let chargeID { fields["charge"] = .string(chargeID) }
        if let paymentIntent { fields["payment_intent"] = paymentIntent }
        return .object(fields)
    }

    // MARK: - The errors the emulator uses

    /// A bad or missing parameter: 400, not stored for idempotency.
    static func invalidParameter(_ message: String, param: String?, code: String? = nil) -> StripeEmulatorError {
        var error = StripeEmulatorError(httpStatus: 400, type: "invalid_request_error", code: code,
                                        message: message, param: param)
        error.failedValidation = true
        return error
    }

    static func unknownParameter(_ name: String) -> StripeEmulatorError {
        invalidParameter("Received unknown parameter: \(name)", param: name, code: "parameter_unknown")
    }

    static func missingParameter(_ name: String) -> StripeEmulatorError {
        invalidParameter("Missing required param: \(name).", param: name, code: "parameter_missing")
    }

    /// A lookup that found nothing: Stripe answers before executing, so not stored either.
    static func resourceMissing(_ message: String, param: String?, status: Int = 404) -> StripeEmulatorError {
        var error = StripeEmulatorError(httpStatus: status, type: "invalid_request_error", code: "resource_missing",
                                        message: message, param: param)
        error.failedValidation = true
        return error
    }

    static func unexpectedState(_ message: String, paymentIntentID: String) -> StripeEmulatorError {
        StripeEmulatorError(httpStatus: 400, type: "invalid_request_error", code: "payment_intent_unexpected_state",
                            message: message, paymentIntentID: paymentIntentID)
    }

    /// The same error about a given intent (so `error.payment_intent` is attached).
    func about(paymentIntent id: String) -> StripeEmulatorError {
        var error = self
        error.paymentIntentID = id
        return error
    }
}
