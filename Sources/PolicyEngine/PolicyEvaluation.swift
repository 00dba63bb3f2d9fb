import JSON

/// Who made a decision.
public enum PolicyDecisionSource: String, Sendable {
    /// The policy's hook decided.
    case policy
    /// The policy does not define the hook; the built-in default decided.
    case builtIn = "builtin"
    /// The hook failed; the hook's fail-closed default decided (see `error`).
    case failClosed = "fail_closed"
}

/// A decision and where it came from. Every decision names the revision that made it.
public struct PolicyEvaluation<Decision: Sendable & Equatable>: Sendable {
    public typealias Source = PolicyDecisionSource

    public let decision: Decision
    public let revision: String
    public let source: Source
    public let error: PolicyEvaluationError?
    /// What the hook passed to print(), for `policy eval` and debug logs.
    public let printed: String
}

/// A decision of any hook as JSON: what the CLI prints and policy tests match against.
public struct AnyPolicyEvaluation: Sendable {
    public let hook: PolicyHook
    public let decision: JSONValue
    public let revision: String
    public let source: PolicyDecisionSource
    public let error: PolicyEvaluationError?
    public let printed: String

    init<Decision>(hook: PolicyHook, _ evaluation: PolicyEvaluation<Decision>, decision: JSONValue) {
        self.hook = hook
        self.decision = decision
        self.revision = evaluation.revision
        self.source = evaluation.source
        self.error = evaluation.error
        self.printed = evaluation.printed
    }

    /// The decision's fields plus `revision`, `hook` and `source`: one JSON object.
    public var report: JSONValue {
        guard case .object(var fields) = decision else { return decision }
        fields["revision"] = .string(revision)
        fields["hook"] = .string(hook.name)
        fields["source"] = .string(source.rawValue)
        return .object(fields)
    }
}
