import ChittyCharge
import Foundation

/// The emulator's state of one PaymentIntent (`pi_…`). Tests read snapshots of it through
/// `StripeEmulator.paymentIntent(id:)`; clients see it as JSON.
public struct EmulatedPaymentIntent: Sendable, Equatable {
    public let id: String
    public let clientSecret: String
    public let created: Date
    public var amount: Int
    public var amountCapturable: Int
    public var amountReceived: Int
    /// `automatic`, `automatic_async` or `manual`.
    public var captureMethod: String
    public var currency: String
    public var customer: String?
    public var description: String?
    public var receiptEmail: String?
    public var metadata: [String: String]
    public var paymentMethod: String?
    public var paymentMethodTypes: [String]
    /// `payment_method_options[card][request_extended_authorization]`: `if_available` or `never`.
    public var requestExtendedAuthorization: String?
    /// The status, typed; `status` is the same as Stripe spells it in JSON.
    public var paymentIntentStatus: PaymentIntentStatus
    public var lastPaymentError: StripeEmulatorError?
    /// The payment method that failed: Stripe clears `payment_method` after a decline and
    /// reports it under `last_payment_error.payment_method`.
    public var failedPaymentMethod: String?
    public var latestChargeID: String?
    public var canceledAt: Date?
    /// `duplicate`, `fraudulent`, `requested_by_customer`, `abandoned`, or `automatic` when
    /// Stripe released an expired hold itself.
    public var cancellationReason: String?
    /// The hold lapsed uncaptured (Stripe canceled it): capturing now is `charge_expired_for_capture`.
    public var authorizationExpired: Bool = false

    public var status: String { paymentIntentStatus.rawValue }

    public var isManualCapture: Bool { captureMethod == "manual" }

    /// The intent as Stripe writes it. `latestCharge` is the expanded charge when the
    /// request asked for `expand[]=latest_charge`, otherwise the id (or null) is written.
    func json(expandedLatestCharge latestCharge: EmulatedCharge?) -> StripeJSON {
        let latestChargeJSON: StripeJSON = latestCharge.map(\.json) ?? .optional(latestChargeID)
        var cardOptions: [String: StripeJSON] = [
            "installments": nil, "mandate_options": nil, "network": nil,
            "request_three_d_secure": "automatic",
        ]
        if let requestExtendedAuthorization {
            cardOptions["request_extended_authorization"] = .string(requestExtendedAuthorization)
        }
        let lastPaymentErrorJSON: StripeJSON = lastPaymentError.map { error in
            var json = error.json()
            if case .object(var fields) = json {
                fields["payment_method"] = failedPaymentMethod.flatMap(TestPaymentMethod.named).map(\.json) ?? .null
                json = .object(fields)
            }
            return json
        } ?? .null
        let nextAction: StripeJSON = paymentIntentStatus == .requiresAction
            ? ["type": "use_stripe_sdk", "use_stripe_sdk": ["type": "three_d_secure_redirect"]]
            : .null
        return [
            "id": .string(id),
            "object": "payment_intent",
            "amount": .int(amount),
            "amount_capturable": .int(amountCapturable),
            "amount_received": .int(amountReceived),
            "canceled_at": .timestamp(canceledAt),
            "cancellation_reason": .optional(cancellationReason),
            "capture_method": .string(captureMethod),
            "client_secret": .string(clientSecret),
            "confirmation_method": "automatic",
            "created": .timestamp(created),
            "currency": .string(currency),
            "customer": .optional(customer),
            "description": .optional(description),
            "last_payment_error": lastPaymentErrorJSON,
            "latest_charge": latestChargeJSON,
            "livemode": false,
            "metadata": .object(metadata.mapValues(StripeJSON.string)),
            "next_action": nextAction,
            "payment_method": .optional(paymentMethod),
            "payment_method_options": ["card": .object(cardOptions)],
            "payment_method_types": .array(paymentMethodTypes.map(StripeJSON.string)),
            "receipt_email": .optional(receiptEmail),
            "setup_future_usage": nil,
            "statement_descriptor": nil,
            "status": .string(status),
        ]
    }
}
