import Foundation
import JSON

/// What we ask Stripe to create for a hold. Metadata values are already strings: Stripe
/// only stores strings, so conversion happens once, where the request is validated.
public struct CreatePaymentIntentParams: Sendable, Equatable, Codable {
    public var amount: Int
    public var currency: String
    public var description: String
    public var receiptEmail: String?
    public var metadata: [String: String]
    /// A saved card placed server-side: both set, plus `confirm` (then `off_session`).
    public var customer: String?
    public var paymentMethod: String?
    public var confirm: Bool
    /// `payment_method_types[]`: the methods the hold may use, sent explicitly so a
    /// Dashboard change cannot route a deposit to a method without manual capture (or with
    /// another capture window). Nil only for operations stored before it was sent, so their
    /// replays stay byte-identical under their idempotency keys.
    public var paymentMethodTypes: [String]?

    public init(amount: Int, currency: String, description: String, receiptEmail: String? = nil,
                metadata: [String: String] = [:], customer: String? = nil, paymentMethod: String? = nil,
                confirm: Bool = false, paymentMethodTypes: [String]? = nil) {
        self.amount = amount
        self.currency = currency
        self.description = description
        self.receiptEmail = receiptEmail
        self.metadata = metadata
        self.customer = customer
        self.paymentMethod = paymentMethod
        self.confirm = confirm
        self.paymentMethodTypes = paymentMethodTypes
    }
}

extension CreatePaymentIntentParams {
    /// The same JSON as its `Codable` form (property names as keys, nil fields left out),
    /// written directly: every new hold stores its parameters, and JSONEncoder was a
    /// measurable part of placing one.
    public var storedJSON: Data {
        var object: [String: JSONValue] = [
            "amount": .integer(Int64(amount)), "currency": .string(currency), "description": .string(description),
            "metadata": .object(metadata.mapValues(JSONValue.string)), "confirm": .bool(confirm),
        ]
        if let receiptEmail { object["receiptEmail"] = .string(receiptEmail) }
        if let customer { object["customer"] = .string(customer) }
        if let paymentMethod { object["paymentMethod"] = .string(paymentMethod) }
        if let paymentMethodTypes { object["paymentMethodTypes"] = .array(paymentMethodTypes.map(JSONValue.string)) }
        return JSONValue.object(object).jsonData
    }
}

extension CreatePaymentIntentParams {
    /// The metadata as Stripe holds it: `metadata[k]=` (an empty value, which is what a
    /// JSON null becomes) unsets a key at Stripe, so such keys are not there to store.
    public var stripeHeldMetadata: [String: String] {
        metadata.filter { !$0.value.isEmpty }
    }
}

/// The fields of a Stripe PaymentIntent we use. Everything but `id` and `status` may be
/// absent in a response, so everything else is optional.
public struct PaymentIntent: Sendable, Equatable {
    public var id: String
    public var status: PaymentIntentStatus
    public var amount: Int?
    public var amountCapturable: Int?
    public var amountReceived: Int?
    public var currency: String?
    public var clientSecret: String?
    public var created: Date?
    public var canceledAt: Date?
    public var metadata: [String: String]
    /// `latest_charge.payment_method_details.card.capture_before`, when expanded.
    public var captureBefore: Date?
    /// Why the last attempt failed (`last_payment_error`), for declines.
    public var lastPaymentError: PaymentErrorDetail?
    /// `payment_method_types`: the methods the intent may be paid with.
    public var paymentMethodTypes: [String]
    /// `latest_charge.amount_captured`, when expanded: what was captured, should
    /// `amount_received` be missing.
    public var chargeAmountCaptured: Int?

    public init(id: String, status: PaymentIntentStatus, amount: Int? = nil, amountCapturable: Int? = nil,
                amountReceived: Int? = nil, currency: String? = nil, clientSecret: String? = nil,
                created: Date? = nil, canceledAt: Date? = nil, metadata: [String: String] = [:],
                captureBefore: Date? = nil, lastPaymentError: PaymentErrorDetail? = nil,
                paymentMethodTypes: [String] = [], chargeAmountCaptured: Int? = nil) {
        self.id = id
        self.status = status
        self.amount = amount
        self.amountCapturable = amountCapturable
        self.amountReceived = amountReceived
        self.currency = currency
        self.clientSecret = clientSecret
        self.created = created
        self.canceledAt = canceledAt
        self.metadata = metadata
        self.captureBefore = captureBefore
        self.lastPaymentError = lastPaymentError
        self.paymentMethodTypes = paymentMethodTypes
        self.chargeAmountCaptured = chargeAmountCaptured
    }

    /// What was captured: `amount_received`, else the expanded charge's `amount_captured`;
    /// nil when the answer says neither (then it must be read again, not assumed zero).
    public var capturedAmount: Int? { amountReceived ?? chargeAmountCaptured }
}

/// Stripe's error object (`{"error":{type, code, decline_code, message, param}}`) plus the
/// HTTP status it came with.
public struct PaymentErrorDetail: Sendable, Equatable, Codable, Error {
    public var httpStatus: Int
    public var type: String
    public var code: String?
    public var declineCode: String?
    public var message: String
    public var param: String?
    /// `error.payment_intent.id`: the intent the error is about. On a declined create it
    /// names an intent Stripe made anyway, which must be tracked.
    public var paymentIntentID: String?

    public init(httpStatus: Int, type: String, code: String? = nil, declineCode: String? = nil,
                message: String, param: String? = nil, paymentIntentID: String? = nil) {
        self.httpStatus = httpStatus
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.param = param
        self.paymentIntentID = paymentIntentID
    }
}

/// How a payment call can fail. The distinction that matters for money safety: after
/// `rejected` Stripe definitely did nothing for this key; after `unavailable` we do not
/// know, so the operation stays pending and is retried with the same idempotency key.
public enum PaymentGatewayError: Error, Sendable, Equatable {
    /// Stripe answered with a final error (card declined, invalid request, wrong state…).
    case rejected(PaymentErrorDetail)
    /// No final answer after retries: network errors, timeouts, 5xx, 429, lock timeouts.
    case unavailable(String)
    /// Stripe answered 5xx and replays that answer for this idempotency key
    /// (`Idempotent-Replayed: true`): Stripe stores even a 500 under its key for 24 h, so
    /// retrying with the same key can never give another answer. What happened (perhaps
    /// the action, perhaps nothing) must be read from the object, and any new attempt
    /// needs a new key.
    case serverErrorReplayed(String)
}

/// The seam to Stripe. Every mutating call carries an idempotency key derived from our
/// durable operation record, so a retry (now or after a restart) can never act twice.
public protocol PaymentGateway: Sendable {
    func createPaymentIntent(_ params: CreatePaymentIntentParams, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent
    func retrievePaymentIntent(id: String) async throws(PaymentGatewayError) -> PaymentIntent
    func capturePaymentIntent(id: String, amountToCapture: Int?, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent
    func cancelPaymentIntent(id: String, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent
}
