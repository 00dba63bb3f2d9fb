/// A policy set that cannot become a revision: it does not compile, fails while loading,
/// defines a hook that is not a function, or fails its smoke evaluation. The message starts
/// with `file:line:` wherever Lua knows the position.
public struct PolicyLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// The policy's own test cases that failed, when that is why the set was refused.
    public let failedTests: [PolicyTestOutcome]

    public init(_ message: String, failedTests: [PolicyTestOutcome] = []) {
        self.message = message
        self.failedTests = failedTests
    }

    public var description: String { message }
}

/// A hook call that failed: the decision fell back to the hook's fail-closed default.
public struct PolicyEvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A Lua error raised by the policy (including `error()`), with file:line.
        case runtime
        /// The call ran out of its instruction budget.
        case instructionBudget = "instruction_budget"
        /// The call ran past its time limit (PolicyLimits.timeLimit).
        case timeLimit = "time_limit"
        /// The call allocated more than its allocation budget (PolicyLimits.allocationBudget).
        case allocationBudget = "allocation_budget"
        /// The state reached its memory cap.
        case memory
        /// The hook returned the wrong shape: not a table, a missing or mistyped field, too large.
        case invalidResult = "invalid_result"
    }

    public let hook: PolicyHook
    public let kind: Kind
    /// Says what went wrong and where (`policy.lua:12: ...` or `hold_limit (policy.lua:10) ...`).
    public let message: String

    public init(hook: PolicyHook, kind: Kind, message: String) {
        self.hook = hook
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(hook.name): \(message)" }
}
