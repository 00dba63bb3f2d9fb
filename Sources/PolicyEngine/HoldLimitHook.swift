import JSON

/// `hold_limit(req)`: may this hold be placed, and what is the most it may be?
public enum HoldLimitHook: PolicyHookContract {
    public struct Input: Sendable, Equatable {
        public var amount: Int64
        public var currency: String
        public var description: String
        public var customerEmail: String?
        public var propertyID: String?
        public var tenantID: String?
        public var metadata: [String: JSONValue]
        /// The API client's name (never its token).
        public var client: String

        public init(
            amount: Int64, currency: String = "usd", description: String = "", customerEmail: String? = nil,
            propertyID: String? = nil, tenantID: String? = nil, metadata: [String: JSONValue] = [:],
            client: String = "default"
        ) {
            self.amount = amount
            self.currency = currency
            self.description = description
            self.customerEmail = customerEmail
            self.propertyID = propertyID
            self.tenantID = tenantID
            self.metadata = metadata
            self.client = client
        }
    }

    /// The input fields README.md documents (test cases and `policy eval` may use no others).
    public static let inputFields: Set<String> = [
        "amount", "currency", "description", "customer_email", "property_id", "tenant_id", "metadata", "client",
    ]

    public struct Decision: Sendable, Equatable {
        public var allow: Bool
        public var maxAmount: Int64
        public var tier: String
        public var reason: String?
        public var details: [String: JSONValue]?

        public init(allow: Bool, maxAmount: Int64, tier: String, reason: String? = nil, details: [String: JSONValue]? = nil) {
            self.allow = allow
            self.maxAmount = maxAmount
            self.tier = tier
            self.reason = reason
            self.details = details
        }
    }

    static let resultFields = [PolicyKey.allow, PolicyKey.maxAmount, PolicyKey.tier, PolicyKey.reason, PolicyKey.details].map(\.rawValue)

    public static let hook = PolicyHook.holdLimit

    /// The earlier service's tiers, chosen by `metadata.guest_tier`.
    public static let builtInTierLimits: [String: Int64] = [
        "NEW_GUEST": 250_000, "VERIFIED_GUEST": 500_000, "PREMIUM_PROPERTY": 1_000_000,
    ]
    public static let builtInDefaultTier = "NEW_GUEST"
    public static let builtInMinimumAmount: Int64 = 50

    static func encode(_ input: Input, into encoder: inout LuaValueEncoder) {
        encoder.lazyObject(count: 8) {
            $0.key(.amount); $0.integer(input.amount)
            $0.key(.currency); $0.string(input.currency)
            $0.key(.description); $0.string(input.description)
            $0.key(.customerEmail); $0.optionalString(input.customerEmail)
            $0.key(.propertyID); $0.optionalString(input.propertyID)
            $0.key(.tenantID); $0.optionalString(input.tenantID)
            $0.key(.metadata); $0.lazyObject(input.metadata)
            $0.key(.client); $0.string(input.client)
        }
    }

    public static func input(from value: JSONValue) -> Input {
        Input(
            amount: value.integer("amount"), currency: value.optionalString("currency") ?? "usd",
            description: value.string("description"), customerEmail: value.optionalString("customer_email"),
            propertyID: value.optionalString("property_id"), tenantID: value.optionalString("tenant_id"),
            metadata: value.object("metadata"), client: value.optionalString("client") ?? "default"
        )
    }

    static func decision(from fields: PolicyResultFields, for input: Input) throws(PolicyResultProblem) -> Decision {
        return Decision(
            allow: try fields.bool(.allow),
            maxAmount: try fields.integer(.maxAmount, in: 0...Int64(Int32.max) * 1000),
            tier: try fields.string(.tier, maxLength: 100),
            reason: try fields.optionalString(.reason),
            details: try fields.optionalTable(.details)
        )
    }

    public static func builtInDecision(for input: Input) -> Decision {
        let requested = input.metadata["guest_tier"]?.stringValue ?? builtInDefaultTier
        let tier = builtInTierLimits[requested] == nil ? builtInDefaultTier : requested
        let limit = builtInTierLimits[tier]!
        if input.amount < builtInMinimumAmount {
            return Decision(
                allow: false, maxAmount: limit, tier: tier,
                reason: "Amount must be at least \(builtInMinimumAmount) cents",
                details: ["current_tier": .string(tier), "max_amount": .integer(limit), "min_amount": .integer(builtInMinimumAmount)]
            )
        }
        if input.amount > limit {
            return Decision(
                allow: false, maxAmount: limit, tier: tier, reason: "Amount exceeds limit for \(tier) tier",
                details: ["current_tier": .string(tier), "max_amount": .integer(limit)]
            )
        }
        return Decision(allow: true, maxAmount: limit, tier: tier)
    }

    public static func failClosedDecision(for input: Input) -> Decision {
        Decision(allow: false, maxAmount: 0, tier: "", reason: "The hold policy could not be evaluated")
    }

    public static func policyValue(of decision: Decision) -> JSONValue {
        var fields: [String: JSONValue] = [
            "allow": .bool(decision.allow), "max_amount": .integer(decision.maxAmount), "tier": .string(decision.tier),
        ]
        if let reason = decision.reason { fields["reason"] = .string(reason) }
        if let details = decision.details { fields["details"] = .object(details) }
        return .object(fields)
    }

    public static let smokeInput = Input(
        amount: 10_000, currency: "usd", description: "policy smoke test", customerEmail: "guest@example.com",
        propertyID: "property-smoke", tenantID: "tenant-smoke",
        metadata: ["guest_tier": "NEW_GUEST", "check_in": "2026-01-01", "check_out": "2026-01-03"], client: "smoke-test"
    )
}
