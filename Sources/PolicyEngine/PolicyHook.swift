import JSON

/// The decisions a policy makes. Each is a global Lua function the entry may define.
public enum PolicyHook: String, CaseIterable, Sendable, Codable {
    case holdLimit = "hold_limit"
    case cors
    case rateLimit = "rate_limit"
    case holdSchedule = "hold_schedule"

    /// The Lua function name (also the name in logs, metrics and the CLI).
    public var name: String { rawValue }

    /// Position in `allCases`: per-hook tables are arrays, not dictionaries, because hashing
    /// a String-backed enum on every evaluation costs more than the Lua call's bookkeeping.
    var index: Int {
        switch self {
        case .holdLimit: 0
        case .cors: 1
        case .rateLimit: 2
        case .holdSchedule: 3
        }
    }
}

extension PolicyHook {
    /// The input fields the hook's contract documents.
    public var inputFields: Set<String> {
        switch self {
        case .holdLimit: HoldLimitHook.inputFields
        case .cors: CORSHook.inputFields
        case .rateLimit: RateLimitHook.inputFields
        case .holdSchedule: HoldScheduleHook.inputFields
        }
    }

    /// Why a hand-written input (a test case, `policy eval`) is not one the hook can receive:
    /// a field the contract does not document, which is most often a typo (`propertyid`)
    /// that would otherwise pass silently. Nil when every field is known.
    public func unknownInputFieldProblem(in input: JSONValue) -> String? {
        guard case .object(let fields) = input else { return nil }
        let allowed = inputFields
        guard let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) else { return nil }
        return "unknown input field '\(unknown)' for \(name); fields: \(allowed.sorted().joined(separator: ", "))"
    }
}

/// One optional value per hook, indexed without hashing.
struct PerHook<Value> {
    private var values: [Value?] = Array(repeating: nil, count: PolicyHook.allCases.count)

    subscript(hook: PolicyHook) -> Value? {
        get { values[hook.index] }
        set { values[hook.index] = newValue }
    }
}

extension PerHook: Sendable where Value: Sendable {}

/// One hook's contract on the Swift side: how its input reaches Lua, how its result is
/// validated into a typed decision, what the built-in default decides when the policy does
/// not define the hook, and what a policy error decides (POLICY.md "Failure modes").
protocol PolicyHookContract: Sendable {
    associatedtype Input: Sendable
    associatedtype Decision: Sendable & Equatable

    static var hook: PolicyHook { get }

    /// The input's documented fields, as a policy sees them (JSON names).
    static var inputFields: Set<String> { get }

    /// The result fields the decision reads, as PolicyKey raw values: Lua encodes only these.
    static var resultFields: [UInt8] { get }

    /// Writes the input table. Typed inputs write field by field (the hot path).
    static func encode(_ input: Input, into encoder: inout LuaValueEncoder)

    /// Reads an input from JSON (the CLI, policy tests, backtests).
    static func input(from value: JSONValue) -> Input

    /// Validates the hook's result; throws a sentence naming the field that is wrong.
    static func decision(from fields: PolicyResultFields, for input: Input) throws(PolicyResultProblem) -> Decision

    /// The earlier service's behaviour, used when the policy does not define the hook.
    static func builtInDecision(for input: Input) -> Decision

    /// What a policy error decides: never more permissive than the built-in default.
    static func failClosedDecision(for input: Input) -> Decision

    /// The decision as the JSON object a policy would return (CLI output, test matching).
    static func policyValue(of decision: Decision) -> JSONValue

    /// A representative input every candidate policy must handle before it goes live.
    static var smokeInput: Input { get }
}

/// Why a hook's result was rejected, phrased for the policy author.
public struct PolicyResultProblem: Error, Sendable, Equatable {
    public let sentence: String
    public init(_ sentence: String) { self.sentence = sentence }
}

/// The fields of a hook's result table that its contract reads, with readers that name the
/// field and what was wrong. Lua encodes only these fields, so a result is never walked
/// whole or turned into a dictionary.
struct PolicyResultFields {
    /// The fields a hook asked for (PolicyKey raw values), in the order it asked (see ccl_call).
    private let keys: [UInt8]
    private let values: [JSONValue]

    init(requested keys: [UInt8], values: [JSONValue]) {
        self.keys = keys
        self.values = values
    }

    static func notATable(_ result: JSONValue) -> PolicyResultProblem {
        PolicyResultProblem("must return a table, but returned \(result.typeName == "list" ? "a list" : "a \(result.typeName)")")
    }

    private func present(_ key: PolicyKey) -> JSONValue? {
        guard let position = keys.firstIndex(of: key.rawValue) else { return nil }
        if case .null = values[position] { return nil }
        return values[position]
    }

    func bool(_ field: PolicyKey) throws(PolicyResultProblem) -> Bool {
        guard let value = present(field) else { throw PolicyResultProblem("returned no '\(field.name)' field; it must be true or false") }
        guard let bool = value.boolValue else { throw PolicyResultProblem("returned '\(field.name)' as a \(value.typeName); it must be true or false") }
        return bool
    }

    func optionalInteger(_ field: PolicyKey, in range: ClosedRange<Int64>) throws(PolicyResultProblem) -> Int64? {
        guard let value = present(field) else { return nil }
        guard let integer = value.integerValue else {
            throw PolicyResultProblem("returned '\(field.name)' as a \(value.typeName); it must be a whole number")
        }
        guard range.contains(integer) else {
            throw PolicyResultProblem("returned '\(field.name)' = \(integer); it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return integer
    }

    func integer(_ field: PolicyKey, in range: ClosedRange<Int64>) throws(PolicyResultProblem) -> Int64 {
        guard let integer = try optionalInteger(field, in: range) else {
            throw PolicyResultProblem("returned no '\(field.name)' field; it must be a whole number")
        }
        return integer
    }

    /// A time: Unix seconds or ISO-8601 text (as `chitty.parse_time` reads it), in `range`.
    func time(_ field: PolicyKey, in range: ClosedRange<Int64>) throws(PolicyResultProblem) -> Int64 {
        let example = "Unix seconds or an ISO-8601 time such as \"2025-07-12T16:00:00Z\""
        guard let value = present(field) else { throw PolicyResultProblem("returned no '\(field.name)' field; it must be \(example)") }
        let seconds: Int64
        if let text = value.stringValue {
            guard let parsed = PolicyTime.seconds(fromISO: text) else {
                throw PolicyResultProblem("returned '\(field.name)' = \"\(text)\"; it must be \(example)")
            }
            guard range.contains(parsed) else {
                throw PolicyResultProblem(
                    "returned '\(field.name)' = \"\(text)\"; it must be between \(PolicyTime.iso(range.lowerBound)) and \(PolicyTime.iso(range.upperBound))")
            }
            seconds = parsed
        } else {
            guard value.integerValue != nil else { throw PolicyResultProblem("returned '\(field.name)' as a \(value.typeName); it must be \(example)") }
            seconds = try integer(field, in: range)
        }
        return seconds
    }

    func optionalString(_ field: PolicyKey, maxLength: Int = 1000) throws(PolicyResultProblem) -> String? {
        guard let value = present(field) else { return nil }
        guard let string = value.stringValue else { throw PolicyResultProblem("returned '\(field.name)' as a \(value.typeName); it must be a string") }
        guard string.utf8.count <= maxLength else { throw PolicyResultProblem("returned a '\(field.name)' longer than \(maxLength) bytes") }
        return string
    }

    func string(_ field: PolicyKey, maxLength: Int = 1000) throws(PolicyResultProblem) -> String {
        guard let string = try optionalString(field, maxLength: maxLength) else {
            throw PolicyResultProblem("returned no '\(field.name)' field; it must be a string")
        }
        return string
    }

    func optionalTable(_ field: PolicyKey) throws(PolicyResultProblem) -> [String: JSONValue]? {
        guard let value = present(field) else { return nil }
        switch value {
        case .object(let table): return table
        case .array(let list) where list.isEmpty: return [:]
        default: throw PolicyResultProblem("returned '\(field.name)' as a \(value.typeName); it must be a table with named fields")
        }
    }
}

/// Readers for JSON inputs: absent or mistyped fields become empty values, as a policy would
/// see them from a sloppy client; the server validates requests before they get here.
extension JSONValue {
    func string(_ name: String) -> String { self[name]?.stringValue ?? "" }
    func optionalString(_ name: String) -> String? { self[name]?.stringValue }
    func integer(_ name: String) -> Int64 { self[name]?.integerValue ?? 0 }
    func object(_ name: String) -> [String: JSONValue] { self[name]?.objectValue ?? [:] }
}
