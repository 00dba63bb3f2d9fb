/// The decisions a policy makes. Each is a global Lua function the entry may define.
public enum PolicyHook: String, CaseIterable, Sendable, Codable {
    case holdLimit = "hold_limit"
    case cors
    case rateLimit = "rate_limit"
    case holdSchedule = "hold_schedule"

    /// The Lua function name (also the name in logs, metrics and the CLI).
    public var name: String { rawValue }
}

/// One hook's contract on the Swift side: how its input reaches Lua, how its result is
/// validated into a typed decision, what the built-in default decides when the policy does
/// not define the hook, and what a policy error decides (POLICY.md "Failure modes").
public protocol PolicyHookContract: Sendable {
    associatedtype Input: Sendable
    associatedtype Decision: Sendable & Equatable

    static var hook: PolicyHook { get }

    /// Writes the input table. Typed inputs write field by field (the hot path).
    static func encode(_ input: Input, into encoder: inout LuaValueEncoder)

    /// Reads an input from JSON (the CLI, policy tests, backtests).
    static func input(from value: PolicyValue) -> Input

    /// Validates the hook's result; throws a sentence naming the field that is wrong.
    static func decision(from result: PolicyValue, for input: Input) throws(PolicyResultProblem) -> Decision

    /// The earlier service's behaviour, used when the policy does not define the hook.
    static func builtInDecision(for input: Input) -> Decision

    /// What a policy error decides: never more permissive than the built-in default.
    static func failClosedDecision(for input: Input) -> Decision

    /// The decision as the JSON object a policy would return (CLI output, test matching).
    static func policyValue(of decision: Decision) -> PolicyValue

    /// A representative input every candidate policy must handle before it goes live.
    static var smokeInput: Input { get }
}

/// Why a hook's result was rejected, phrased for the policy author.
public struct PolicyResultProblem: Error, Sendable, Equatable {
    public let sentence: String
    public init(_ sentence: String) { self.sentence = sentence }
}

/// Field readers shared by the hook contracts: each names the field and what was wrong.
struct PolicyResultFields {
    let fields: [String: PolicyValue]

    init(_ result: PolicyValue) throws(PolicyResultProblem) {
        guard case .object(let fields) = result else {
            throw PolicyResultProblem("must return a table, but returned \(result.typeName == "list" ? "a list" : "a \(result.typeName)")")
        }
        self.fields = fields
    }

    private func present(_ name: String) -> PolicyValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    func bool(_ name: String) throws(PolicyResultProblem) -> Bool {
        guard let value = present(name) else { throw PolicyResultProblem("returned no '\(name)' field; it must be true or false") }
        guard let bool = value.boolValue else { throw PolicyResultProblem("returned '\(name)' as a \(value.typeName); it must be true or false") }
        return bool
    }

    func optionalInteger(_ name: String, in range: ClosedRange<Int64>) throws(PolicyResultProblem) -> Int64? {
        guard let value = present(name) else { return nil }
        guard let integer = value.integerValue else {
            throw PolicyResultProblem("returned '\(name)' as a \(value.typeName); it must be a whole number")
        }
        guard range.contains(integer) else {
            throw PolicyResultProblem("returned '\(name)' = \(integer); it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return integer
    }

    func integer(_ name: String, in range: ClosedRange<Int64>) throws(PolicyResultProblem) -> Int64 {
        guard let integer = try optionalInteger(name, in: range) else {
            throw PolicyResultProblem("returned no '\(name)' field; it must be a whole number")
        }
        return integer
    }

    func optionalString(_ name: String, maxLength: Int = 1000) throws(PolicyResultProblem) -> String? {
        guard let value = present(name) else { return nil }
        guard let string = value.stringValue else { throw PolicyResultProblem("returned '\(name)' as a \(value.typeName); it must be a string") }
        guard string.utf8.count <= maxLength else { throw PolicyResultProblem("returned a '\(name)' longer than \(maxLength) bytes") }
        return string
    }

    func string(_ name: String, maxLength: Int = 1000) throws(PolicyResultProblem) -> String {
        guard let string = try optionalString(name, maxLength: maxLength) else {
            throw PolicyResultProblem("returned no '\(name)' field; it must be a string")
        }
        return string
    }

    func optionalTable(_ name: String) throws(PolicyResultProblem) -> [String: PolicyValue]? {
        guard let value = present(name) else { return nil }
        switch value {
        case .object(let table): return table
        case .array(let list) where list.isEmpty: return [:]
        default: throw PolicyResultProblem("returned '\(name)' as a \(value.typeName); it must be a table with named fields")
        }
    }
}

/// Readers for JSON inputs: absent or mistyped fields become empty values, as a policy would
/// see them from a sloppy client; the server validates requests before they get here.
extension PolicyValue {
    func string(_ name: String) -> String { self[name]?.stringValue ?? "" }
    func optionalString(_ name: String) -> String? { self[name]?.stringValue }
    func integer(_ name: String) -> Int64 { self[name]?.integerValue ?? 0 }
    func object(_ name: String) -> [String: PolicyValue] { self[name]?.objectValue ?? [:] }
}
