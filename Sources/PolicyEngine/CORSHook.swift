import JSON

/// `cors(req)`: may a browser page from this origin call the API?
public enum CORSHook: PolicyHookContract {
    public struct Input: Sendable, Equatable {
        public var origin: String
        public var method: String
        public var path: String
        /// From `ALLOWED_ORIGINS`; empty means the built-in list.
        public var allowedOrigins: [String]

        public init(origin: String, method: String = "GET", path: String = "/", allowedOrigins: [String] = []) {
            self.origin = origin
            self.method = method
            self.path = path
            self.allowedOrigins = allowedOrigins
        }
    }

    /// The input fields README.md documents (test cases and `policy eval` may use no others).
    public static let inputFields: Set<String> = ["origin", "method", "path", "config"]

    public struct Decision: Sendable, Equatable {
        public var allow: Bool
        public init(allow: Bool) { self.allow = allow }
    }

    static let resultFields = [PolicyKey.allow].map(\.rawValue)

    public static let hook = PolicyHook.cors

    static func encode(_ input: Input, into encoder: inout LuaValueEncoder) {
        encoder.lazyObject(count: 4) {
            $0.key(.origin); $0.string(input.origin)
            $0.key(.method); $0.string(input.method)
            $0.key(.path); $0.string(input.path)
            $0.key(.config)
            $0.beginObject(count: 1)
            $0.key(.allowedOrigins)
            $0.beginArray(count: input.allowedOrigins.count)
            for origin in input.allowedOrigins { $0.string(origin) }
        }
    }

    public static func input(from value: JSONValue) -> Input {
        let configured: [String]
        if case .array(let entries)? = value["config"]?["allowed_origins"] {
            configured = entries.compactMap(\.stringValue)
        } else {
            configured = []
        }
        return Input(origin: value.string("origin"), method: value.string("method"), path: value.string("path"), allowedOrigins: configured)
    }

    static func decision(from fields: PolicyResultFields, for input: Input) throws(PolicyResultProblem) -> Decision {
        Decision(allow: try fields.bool(.allow))
    }

    public static func builtInDecision(for input: Input) -> Decision {
        Decision(allow: OriginAllowList(input.allowedOrigins).allows(input.origin))
    }

    public static func failClosedDecision(for input: Input) -> Decision {
        Decision(allow: false)
    }

    public static func policyValue(of decision: Decision) -> JSONValue {
        ["allow": .bool(decision.allow)]
    }

    public static let smokeInput = Input(origin: "https://app.chitty.cc", method: "POST", path: "/api/holds")
}
