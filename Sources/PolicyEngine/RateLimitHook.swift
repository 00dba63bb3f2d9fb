import JSON

/// `rate_limit(req)`: how many requests a client may make in a window.
public enum RateLimitHook: PolicyHookContract {
    public struct Input: Sendable, Equatable {
        public var client: String
        public var route: String
        public var method: String
        public var ip: String

        public init(client: String, route: String, method: String, ip: String) {
            self.client = client
            self.route = route
            self.method = method
            self.ip = ip
        }
    }

    /// The input fields README.md documents (test cases and `policy eval` may use no others).
    public static let inputFields: Set<String> = ["client", "route", "method", "ip"]

    public struct Decision: Sendable, Equatable {
        public var limit: Int64
        /// Seconds.
        public var window: Int64
        /// Requests that share a key share a counter.
        public var key: String

        public init(limit: Int64, window: Int64, key: String) {
            self.limit = limit
            self.window = window
            self.key = key
        }
    }

    static let resultFields = [PolicyKey.limit, PolicyKey.window, PolicyKey.key].map(\.rawValue)

    public static let hook = PolicyHook.rateLimit

    static func encode(_ input: Input, into encoder: inout LuaValueEncoder) {
        encoder.lazyObject(count: 4) {
            $0.key(.client); $0.string(input.client)
            $0.key(.route); $0.string(input.route)
            $0.key(.method); $0.string(input.method)
            $0.key(.ip); $0.string(input.ip)
        }
    }

    public static func input(from value: JSONValue) -> Input {
        Input(client: value.string("client"), route: value.string("route"), method: value.string("method"), ip: value.string("ip"))
    }

    static func decision(from fields: PolicyResultFields, for input: Input) throws(PolicyResultProblem) -> Decision {
        let limit = try fields.integer(.limit, in: 0...1_000_000_000)
        let window = try fields.integer(.window, in: 1...86_400)
        // Without a key the limit applies per client, as in the earlier service.
        let key = try fields.optionalString(.key, maxLength: 200)
        return Decision(limit: limit, window: window, key: key ?? input.client)
    }

    public static func builtInDecision(for input: Input) -> Decision {
        Decision(limit: 10, window: 60, key: input.client)
    }

    /// POLICY.md: a broken rate_limit falls back to the built-in limit, never to no limit.
    public static func failClosedDecision(for input: Input) -> Decision {
        builtInDecision(for: input)
    }

    public static func policyValue(of decision: Decision) -> JSONValue {
        ["limit": .integer(decision.limit), "window": .integer(decision.window), "key": .string(decision.key)]
    }

    public static let smokeInput = Input(client: "smoke-test", route: "/api/holds", method: "POST", ip: "127.0.0.1")
}
