import Crypto
import Foundation
import JSON
import PolicyEngine

/// A validated `POST /api/holds` body. Parsing is strict about what matters (types,
/// ranges, Stripe's metadata limits) so a bad request fails here with a clear message,
/// before any policy or Stripe call.
public struct HoldRequest: Sendable, Equatable {
    public var amount: Int
    public var description: String
    public var currency: String
    public var customerEmail: String?
    public var propertyID: String?
    public var tenantID: String?
    /// As the client sent it, for the policy (which sees numbers as numbers).
    public var metadata: [String: JSONValue]
    public var customer: String?
    public var paymentMethod: String?
    public var confirm: Bool

    /// Stripe's limits on metadata.
    public static let maxMetadataKeys = 50
    public static let maxMetadataKeyLength = 40
    public static let maxMetadataValueLength = 500
    /// How deeply metadata may nest (an object in an object is 2). Policies get their input
    /// through a codec that stops at 64 levels; anything near that is refused here with a
    /// 400 rather than reaching a policy with fields missing.
    public static let maxMetadataDepth = 32
    /// Stripe's largest amount for most currencies (8 digits).
    public static let maxAmount = 99_999_999

    public init(amount: Int, description: String, currency: String = "usd", customerEmail: String? = nil,
                propertyID: String? = nil, tenantID: String? = nil, metadata: [String: JSONValue] = [:],
                customer: String? = nil, paymentMethod: String? = nil, confirm: Bool = false) {
        self.amount = amount
        self.description = description
        self.currency = currency
        self.customerEmail = customerEmail
        self.propertyID = propertyID
        self.tenantID = tenantID
        self.metadata = metadata
        self.customer = customer
        self.paymentMethod = paymentMethod
        self.confirm = confirm
    }

    public static func parse(_ body: Data, defaultCurrency: String) throws(HoldServiceError) -> HoldRequest {
        guard !body.isEmpty else { throw .invalidInput("The request body is empty; send a JSON object with amount and description") }
        let value: JSONValue
        do {
            value = try JSONValue(jsonData: body)
        } catch {
            throw .invalidInput("The request body is not valid JSON: \(error)")
        }
        guard case .object(let fields) = value else { throw .invalidInput("The request body must be a JSON object") }
        return try parse(fields, defaultCurrency: defaultCurrency)
    }

    static func parse(_ fields: [String: JSONValue], defaultCurrency: String) throws(HoldServiceError) -> HoldRequest {
        guard let amountValue = fields["amount"], amountValue != .null else {
            throw .invalidInput("amount is required (an integer number of cents)", field: "amount")
        }
        guard let amount = amountValue.integerValue else {
            throw .invalidInput("amount must be an integer number of cents, not \(amountValue.typeName)", field: "amount")
        }
        guard amount > 0, amount <= Int64(maxAmount) else {
            throw .invalidInput("amount must be between 1 and \(maxAmount) cents", field: "amount")
        }
        let description = try requiredString(fields, "description", maxLength: 1000)
        let currency = try optionalString(fields, "currency", maxLength: 3)?.lowercased() ?? defaultCurrency
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .invalidInput("currency must be a three-letter ISO code such as usd", field: "currency")
        }
        let email = try optionalString(fields, "customer_email", maxLength: 254)
        if let email, !Self.looksLikeEmail(email) {
            throw .invalidInput("customer_email is not an email address", field: "customer_email")
        }
        let propertyID = try optionalString(fields, "property_id", maxLength: maxMetadataValueLength)
        let tenantID = try optionalString(fields, "tenant_id", maxLength: maxMetadataValueLength)
        var metadata: [String: JSONValue] = [:]
        if let raw = fields["metadata"], raw != .null {
            guard case .object(let object) = raw else {
                throw .invalidInput("metadata must be a JSON object", field: "metadata")
            }
            guard Self.nestingDepth(raw) <= maxMetadataDepth else {
                throw .invalidInput("metadata nests more than \(maxMetadataDepth) levels deep", field: "metadata")
            }
            metadata = object
        }
        let customer = try optionalString(fields, "customer", maxLength: 255)
        let paymentMethod = try optionalString(fields, "payment_method", maxLength: 255)
        if (customer == nil) != (paymentMethod == nil) {
            throw .invalidInput("customer and payment_method go together: send both to hold a saved card, or neither", field: customer == nil ? "customer" : "payment_method")
        }
        var confirm = customer != nil
        if let raw = fields["confirm"], raw != .null {
            guard let flag = raw.boolValue else { throw .invalidInput("confirm must be true or false", field: "confirm") }
            confirm = flag
        }
        let request = HoldRequest(
            amount: Int(amount), description: description, currency: currency, customerEmail: email,
            propertyID: propertyID, tenantID: tenantID, metadata: metadata, customer: customer,
            paymentMethod: paymentMethod, confirm: confirm)
        _ = try request.stripeMetadata()
        return request
    }

    /// Metadata as Stripe stores it (strings), with `property_id`/`tenant_id` added, checked
    /// against Stripe's limits so Stripe never refuses what we accepted.
    public func stripeMetadata() throws(HoldServiceError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in metadata {
            result[key] = Self.stripeString(value)
        }
        if let propertyID { result["property_id"] = propertyID }
        if let tenantID { result["tenant_id"] = tenantID }
        guard result.count <= Self.maxMetadataKeys else {
            throw .invalidInput("metadata may have at most \(Self.maxMetadataKeys) keys, property_id and tenant_id included", field: "metadata")
        }
        for (key, value) in result {
            guard !key.isEmpty, key.count <= Self.maxMetadataKeyLength, !key.contains("[") && !key.contains("]") else {
                throw .invalidInput("metadata key '\(key.prefix(60))' must be 1 to \(Self.maxMetadataKeyLength) characters without brackets", field: "metadata")
            }
            guard value.count <= Self.maxMetadataValueLength else {
                throw .invalidInput("metadata value for '\(key)' is longer than \(Self.maxMetadataValueLength) characters", field: "metadata")
            }
        }
        return result
    }

    /// Any JSON value as the string Stripe will store: strings as they are, everything
    /// else as compact JSON (`12`, `true`, `{"a":1}`), null as the empty string.
    static func stripeString(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .null: return ""
        case .integer(let number): return String(number)
        default: return String(decoding: JSONCoding.encode(value), as: UTF8.self)
        }
    }

    public func paymentIntentParams() throws(HoldServiceError) -> CreatePaymentIntentParams {
        CreatePaymentIntentParams(
            amount: amount, currency: currency, description: description, receiptEmail: customerEmail,
            metadata: try stripeMetadata(), customer: customer, paymentMethod: paymentMethod, confirm: confirm)
    }

    /// What `hold_limit` sees.
    public func policyInput(client: String) -> HoldLimitHook.Input {
        HoldLimitHook.Input(
            amount: Int64(amount), currency: currency, description: description, customerEmail: customerEmail,
            propertyID: propertyID, tenantID: tenantID, metadata: metadata, client: client)
    }

    /// The same input as JSON, stored with the decision for backtesting.
    public func policyInputValue(client: String) -> JSONValue {
        var object: [String: JSONValue] = [
            "amount": .integer(Int64(amount)), "currency": .string(currency), "description": .string(description),
            "metadata": .object(metadata), "client": .string(client),
        ]
        if let customerEmail { object["customer_email"] = .string(customerEmail) }
        if let propertyID { object["property_id"] = .string(propertyID) }
        if let tenantID { object["tenant_id"] = .string(tenantID) }
        return .object(object)
    }

    /// Identifies "the same request" for `Idempotency-Key`: a hash of the canonical form.
    public var fingerprint: String {
        var object = policyInputValue(client: "").objectValue ?? [:]
        object["client"] = nil
        if let customer { object["customer"] = .string(customer) }
        if let paymentMethod { object["payment_method"] = .string(paymentMethod) }
        object["confirm"] = .bool(confirm)
        let digest = SHA256.hash(data: JSONCoding.encode(JSONValue.object(object)))
        return Hex.encode(digest)
    }

    private static func requiredString(_ fields: [String: JSONValue], _ name: String, maxLength: Int) throws(HoldServiceError) -> String {
        guard let value = try optionalString(fields, name, maxLength: maxLength) else {
            throw .invalidInput("\(name) is required", field: name)
        }
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidInput("\(name) must not be empty", field: name)
        }
        return value
    }

    private static func optionalString(_ fields: [String: JSONValue], _ name: String, maxLength: Int) throws(HoldServiceError) -> String? {
        guard let value = fields[name], value != .null else { return nil }
        guard case .string(let text) = value else {
            throw .invalidInput("\(name) must be a string, not \(value.typeName)", field: name)
        }
        guard text.count <= maxLength else {
            throw .invalidInput("\(name) is longer than \(maxLength) characters", field: name)
        }
        return text
    }

    /// 1 for a scalar or an empty container, one more per level of objects and lists.
    static func nestingDepth(_ value: JSONValue) -> Int {
        switch value {
        case .object(let fields): 1 + (fields.values.map(nestingDepth).max() ?? 0)
        case .array(let items): 1 + (items.map(nestingDepth).max() ?? 0)
        default: 1
        }
    }

    private static func looksLikeEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.contains(where: \.isWhitespace)
    }
}
