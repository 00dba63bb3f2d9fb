import Foundation

/// Stripe's test payment methods (`pm_card_…`) the emulator knows, and what confirming
/// with each does. Anything else is a missing PaymentMethod, as on Stripe.
public struct TestPaymentMethod: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The issuer authorizes the amount.
        case authorized
        /// The issuer declines: `card_declined` with this decline code and message.
        case declined(declineCode: String, message: String)
        /// 3-D Secure is required: `requires_action` on session; declined off session.
        case authenticationRequired
    }

    public var id: String
    public var brand: String
    public var last4: String
    public var outcome: Outcome

    public static let all: [TestPaymentMethod] = [
        TestPaymentMethod(id: "pm_card_visa", brand: "visa", last4: "4242", outcome: .authorized),
        TestPaymentMethod(id: "pm_card_mastercard", brand: "mastercard", last4: "4444", outcome: .authorized),
        TestPaymentMethod(id: "pm_card_amex", brand: "amex", last4: "8431", outcome: .authorized),
        TestPaymentMethod(id: "pm_card_chargeDeclined", brand: "visa", last4: "0002",
                          outcome: .declined(declineCode: "generic_decline", message: "Your card was declined.")),
        TestPaymentMethod(id: "pm_card_chargeDeclinedInsufficientFunds", brand: "visa", last4: "9995",
                          outcome: .declined(declineCode: "insufficient_funds", message: "Your card has insufficient funds.")),
        TestPaymentMethod(id: "pm_card_authenticationRequired", brand: "visa", last4: "3184",
                          outcome: .authenticationRequired),
    ]

    public static func named(_ id: String) -> TestPaymentMethod? {
        all.first { $0.id == id }
    }

    var json: StripeJSON {
        [
            "id": .string(id),
            "object": "payment_method",
            "type": "card",
            "card": ["brand": .string(brand), "last4": .string(last4), "exp_month": 12, "exp_year": 2034,
                     "funding": "credit", "country": "US"],
            "livemode": false,
        ]
    }
}
