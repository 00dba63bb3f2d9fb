import Foundation

/// A charge (`ch_…`): one authorization attempt on a card for a PaymentIntent. A hold is
/// an uncaptured succeeded charge; capturing it takes some or all of the amount and
/// releases the rest (which Stripe reports as `amount_refunded`).
public struct EmulatedCharge: Sendable, Equatable {
    public let id: String
    public let paymentIntentID: String
    public var amount: Int
    public var amountCaptured: Int
    public var amountRefunded: Int
    public var captured: Bool
    public var refunded: Bool
    public let created: Date
    public var currency: String
    public var customer: String?
    public var description: String?
    public var receiptEmail: String?
    public var metadata: [String: String]
    public var paymentMethod: TestPaymentMethod
    /// `succeeded` (authorized) or `failed` (declined).
    public var status: String
    public var failureCode: String?
    public var failureMessage: String?
    public var declineCode: String?
    /// `payment_method_details.card.capture_before`: when the authorization lapses. Only
    /// for uncaptured (manual capture) charges.
    public var captureBefore: Date?
    public var extendedAuthorization: Bool
    public var offSession: Bool

    public var json: StripeJSON {
        var card: [String: StripeJSON] = [
            "brand": .string(paymentMethod.brand),
            "last4": .string(paymentMethod.last4),
            "exp_month": 12,
            "exp_year": 2034,
            "funding": "credit",
            "country": "US",
            "network": .string(paymentMethod.brand),
            "capture_before": .timestamp(captureBefore),
            "extended_authorization": ["status": extendedAuthorization ? "enabled" : "disabled"],
        ]
        if paymentMethod.outcome == .authenticationRequired, status == "succeeded" {
            card["three_d_secure"] = ["authentication_flow": "challenge", "result": "authenticated", "version": "2.2.0"]
        }
        let outcome: StripeJSON = status == "succeeded"
            ? ["network_status": "approved_by_network", "type": "authorized", "reason": nil,
               "seller_message": "Payment complete.", "risk_level": "normal"]
            : ["network_status": "declined_by_network", "type": "issuer_declined", "reason": .optional(declineCode),
               "seller_message": "The bank did not return any further details with this decline.",
               "risk_level": "normal"]
        return [
            "id": .string(id),
            "object": "charge",
            "amount": .int(amount),
            "amount_captured": .int(amountCaptured),
            "amount_refunded": .int(amountRefunded),
            "captured": .bool(captured),
            "created": .timestamp(created),
            "currency": .string(currency),
            "customer": .optional(customer),
            "description": .optional(description),
            "failure_code": .optional(failureCode),
            "failure_message": .optional(failureMessage),
            "livemode": false,
            "metadata": .object(metadata.mapValues(StripeJSON.string)),
            "outcome": outcome,
            "paid": .bool(status == "succeeded"),
            "payment_intent": .string(paymentIntentID),
            "payment_method": .string(paymentMethod.id),
            "payment_method_details": ["type": "card", "card": .object(card)],
            "receipt_email": .optional(receiptEmail),
            "refunded": .bool(refunded),
            "status": .string(status),
        ]
    }
}
