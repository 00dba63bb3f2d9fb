import JSON

/// `hold_schedule(hold)`: should this hold be captured or released automatically, and when?
public enum HoldScheduleHook: PolicyHookContract {
    /// The stored hold as the policy sees it; times are ISO-8601 UTC strings.
    public struct Input: Sendable, Equatable {
        public var id: String
        public var amount: Int64
        public var currency: String
        public var status: String
        public var createdAt: String
        public var captureBefore: String?
        public var propertyID: String?
        public var tenantID: String?
        public var metadata: [String: JSONValue]
        /// The stay as the rental app's booking events tell it: `state` (`booked`,
        /// `checked_in`, `no_show`, `checked_out`, `cancelled`), the times of each, a
        /// `check_out` an extension moved, and `events` oldest first.
        public var booking: [String: JSONValue]

        /// A hold with no booking event yet.
        public static let noBookingEvents: [String: JSONValue] = ["state": "booked", "events": .array([])]

        public init(
            id: String, amount: Int64, currency: String = "usd", status: String, createdAt: String,
            captureBefore: String? = nil, propertyID: String? = nil, tenantID: String? = nil,
            metadata: [String: JSONValue] = [:], booking: [String: JSONValue] = Input.noBookingEvents
        ) {
            self.booking = booking
            self.id = id
            self.amount = amount
            self.currency = currency
            self.status = status
            self.createdAt = createdAt
            self.captureBefore = captureBefore
            self.propertyID = propertyID
            self.tenantID = tenantID
            self.metadata = metadata
        }
    }

    /// The input fields README.md documents (test cases and `policy eval` may use no others).
    public static let inputFields: Set<String> = [
        "id", "amount", "currency", "status", "created_at", "capture_before", "property_id", "tenant_id", "metadata",
        "booking",
    ]

    public enum Action: String, Sendable, Equatable {
        /// Place a new hold on the guest's saved card before this one lapses, then release
        /// this one (long stays).
        case capture, release, reauthorize, none
    }

    public struct Decision: Sendable, Equatable {
        public var action: Action
        /// Unix seconds; nil only for `.none`.
        public var at: Int64?
        /// Cents to capture; nil captures everything capturable.
        public var amount: Int64?

        public init(action: Action, at: Int64? = nil, amount: Int64? = nil) {
            self.action = action
            self.at = at
            self.amount = amount
        }
    }

    static let resultFields = [PolicyKey.action, PolicyKey.at, PolicyKey.amount].map(\.rawValue)

    public static let hook = PolicyHook.holdSchedule

    static func encode(_ input: Input, into encoder: inout LuaValueEncoder) {
        encoder.lazyObject(count: 10) {
            $0.key(.id); $0.string(input.id)
            $0.key(.amount); $0.integer(input.amount)
            $0.key(.currency); $0.string(input.currency)
            $0.key(.status); $0.string(input.status)
            $0.key(.createdAt); $0.string(input.createdAt)
            $0.key(.captureBefore); $0.optionalString(input.captureBefore)
            $0.key(.propertyID); $0.optionalString(input.propertyID)
            $0.key(.tenantID); $0.optionalString(input.tenantID)
            $0.key(.metadata); $0.lazyObject(input.metadata)
            $0.key("booking"); $0.lazyObject(input.booking)
        }
    }

    public static func input(from value: JSONValue) -> Input {
        Input(
            id: value.string("id"), amount: value.integer("amount"), currency: value.optionalString("currency") ?? "usd",
            status: value.string("status"), createdAt: value.string("created_at"),
            captureBefore: value.optionalString("capture_before"), propertyID: value.optionalString("property_id"),
            tenantID: value.optionalString("tenant_id"), metadata: value.object("metadata"),
            booking: value["booking"]?.objectValue ?? Input.noBookingEvents
        )
    }

    static func decision(from fields: PolicyResultFields, for input: Input) throws(PolicyResultProblem) -> Decision {
        let name = try fields.string(.action, maxLength: 20)
        guard let action = Action(rawValue: name) else {
            throw PolicyResultProblem("returned action '\(name)'; it must be \"capture\", \"release\", \"reauthorize\" or \"none\"")
        }
        if action == .none { return Decision(action: .none) }
        // Unix seconds or ISO-8601 text, between 2000 and 2100: anything else is a unit
        // mistake (milliseconds).
        let at = try fields.time(.at, in: PolicyTime.plausibleSeconds)
        let amount = try fields.optionalInteger(.amount, in: 1...Int64(Int32.max) * 1000)
        if amount != nil && action != .capture {
            throw PolicyResultProblem("returned an 'amount' with action '\(name)'; only a capture takes an amount")
        }
        return Decision(action: action, at: at, amount: amount)
    }

    /// The earlier service scheduled nothing.
    public static func builtInDecision(for input: Input) -> Decision {
        Decision(action: .none)
    }

    /// Nothing is scheduled; the caller flags the hold for attention.
    public static func failClosedDecision(for input: Input) -> Decision {
        Decision(action: .none)
    }

    public static func policyValue(of decision: Decision) -> JSONValue {
        var fields: [String: JSONValue] = ["action": .string(decision.action.rawValue)]
        if let at = decision.at { fields["at"] = .integer(at) }
        if let amount = decision.amount { fields["amount"] = .integer(amount) }
        return .object(fields)
    }

    public static let smokeInput = Input(
        id: "pi_smoke_test", amount: 10_000, status: "requires_capture", createdAt: "2026-01-01T12:00:00Z",
        captureBefore: "2026-01-08T12:00:00Z", propertyID: "property-smoke", tenantID: "tenant-smoke",
        metadata: ["guest_tier": "NEW_GUEST", "check_in": "2026-01-01", "check_out": "2026-01-03"]
    )
}
