import Foundation
import JSON
import Logging
import Synchronization

/// One loaded policy set, named by the hash of its files, with a pool of Lua states.
///
/// A revision never changes after it is built, so a request that took it at the start
/// finishes on it even if a reload swaps in another. Evaluations borrow a state from the
/// pool (creating one when all are lent), so concurrent callers never share a lua_State.
public final class PolicyRevision: Sendable {
    public let id: String
    public let sources: PolicySourceSet
    public let limits: PolicyLimits
    public let loadedAt: Date
    /// The hooks the policy defines and where (`policy.lua:12`); others use built-in defaults.
    public let definedHooks: [PolicyHook: String]
    private let hookLocations: PerHook<String>

    private let idleStates: LuaStatePool
    private let logger: Logger
    private let metrics: PolicyMetrics

    /// Compiles and loads the policy, then smoke-tests every defined hook; throws if any step fails.
    public convenience init(sources: PolicySourceSet, limits: PolicyLimits = .default, logger: Logger) throws(PolicyLoadError) {
        try self.init(sources: sources, limits: limits, logger: logger, metrics: PolicyMetrics())
    }

    init(sources: PolicySourceSet, limits: PolicyLimits, logger: Logger, metrics: PolicyMetrics) throws(PolicyLoadError) {
        let first = try LuaPolicyState(sources: sources, limits: limits)
        self.id = sources.revision
        self.sources = sources
        self.limits = limits
        self.loadedAt = Date()
        var locations = PerHook<String>()
        var defined: [PolicyHook: String] = [:]
        for hook in PolicyHook.allCases {
            locations[hook] = first.hooks[hook]?.location
            defined[hook] = locations[hook]
        }
        self.hookLocations = locations
        self.definedHooks = defined
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.idleStates = LuaStatePool(shardCount: cores * 2, maximumPerShard: 2)
        idleStates.put(first)
        var logger = logger
        logger[metadataKey: "policy.revision"] = "\(sources.revision)"
        self.logger = logger
        self.metrics = metrics
        try smokeTest()
    }

    private func smokeTest() throws(PolicyLoadError) {
        try smokeTest(HoldLimitHook.self)
        try smokeTest(CORSHook.self)
        try smokeTest(RateLimitHook.self)
        try smokeTest(HoldScheduleHook.self)
    }

    private func smokeTest<Hook: PolicyHookContract>(_ contract: Hook.Type) throws(PolicyLoadError) {
        guard let location = hookLocations[Hook.hook] else { return }
        let evaluation = evaluate(contract, Hook.smokeInput, quiet: true)
        if let error = evaluation.error {
            throw PolicyLoadError("\(location): \(Hook.hook.name) failed its smoke test: \(error.message)")
        }
    }

    // MARK: Evaluation

    public func holdLimit(_ input: HoldLimitHook.Input) -> PolicyEvaluation<HoldLimitHook.Decision> {
        evaluate(HoldLimitHook.self, input, quiet: false)
    }

    public func cors(_ input: CORSHook.Input) -> PolicyEvaluation<CORSHook.Decision> {
        evaluate(CORSHook.self, input, quiet: false)
    }

    public func rateLimit(_ input: RateLimitHook.Input) -> PolicyEvaluation<RateLimitHook.Decision> {
        evaluate(RateLimitHook.self, input, quiet: false)
    }

    public func holdSchedule(_ input: HoldScheduleHook.Input) -> PolicyEvaluation<HoldScheduleHook.Decision> {
        evaluate(HoldScheduleHook.self, input, quiet: false)
    }

    /// Evaluates a hook on a JSON input exactly as given (extra fields included): the dry run
    /// behind `policy eval` and `policy test`.
    /// `on` runs it on that state instead of one from the pool (a state recording lines).
    public func evaluate(_ hook: PolicyHook, input: JSONValue) -> AnyPolicyEvaluation {
        evaluate(hook, input: input, on: nil)
    }

    func evaluate(_ hook: PolicyHook, input: JSONValue, on state: LuaPolicyState?) -> AnyPolicyEvaluation {
        switch hook {
        case .holdLimit: evaluateJSON(HoldLimitHook.self, input, on: state)
        case .cors: evaluateJSON(CORSHook.self, input, on: state)
        case .rateLimit: evaluateJSON(RateLimitHook.self, input, on: state)
        case .holdSchedule: evaluateJSON(HoldScheduleHook.self, input, on: state)
        }
    }

    /// A state of this revision outside the pool that records the lines it runs (tools only).
    func makeRecordingState() throws(PolicyLoadError) -> LuaPolicyState {
        try LuaPolicyState(sources: sources, limits: limits, recordingLines: true)
    }

    private func evaluateJSON<Hook: PolicyHookContract>(_ contract: Hook.Type, _ json: JSONValue, on lent: LuaPolicyState?) -> AnyPolicyEvaluation {
        let evaluation = run(contract, Hook.input(from: json), quiet: false, on: lent) { $0.value(json) }
        return AnyPolicyEvaluation(hook: Hook.hook, evaluation, decision: Hook.policyValue(of: evaluation.decision))
    }

    private func evaluate<Hook: PolicyHookContract>(_ contract: Hook.Type, _ input: Hook.Input, quiet: Bool) -> PolicyEvaluation<Hook.Decision> {
        run(contract, input, quiet: quiet) { Hook.encode(input, into: &$0) }
    }

    private func run<Hook: PolicyHookContract>(
        _ contract: Hook.Type, _ input: Hook.Input, quiet: Bool, on lent: LuaPolicyState? = nil,
        write: (inout LuaValueEncoder) -> Void
    ) -> PolicyEvaluation<Hook.Decision> {
        guard let location = hookLocations[Hook.hook] else {
            metrics.count(Hook.hook, PolicyDecisionSource.builtIn)
            return PolicyEvaluation(decision: Hook.builtInDecision(for: input), revision: id, source: .builtIn, error: nil, printed: "")
        }
        let state: LuaPolicyState
        if let lent {
            state = lent
        } else {
            do {
                state = try borrowState()
            } catch {
                return failed(contract, input, PolicyEvaluationError(hook: Hook.hook, kind: .runtime, message: error.message), printed: "", quiet: quiet)
            }
        }
        defer {
            if lent == nil { giveBack(state) } else if state.isTiming { state.finishTiming(into: metrics) }
        }
        state.startTiming(Hook.hook)
        guard let function = state.hooks[Hook.hook] else {
            let error = PolicyEvaluationError(hook: Hook.hook, kind: .runtime, message: "\(location): the hook was not defined when the policy loaded again")
            return failed(contract, input, error, printed: "", quiet: quiet)
        }
        state.encoder.reset()
        write(&state.encoder)
        let problem: PolicyResultProblem
        switch state.call(function, resultFields: Hook.resultFields) {
        case .result(let fields):
            do {
                let decision = try Hook.decision(from: fields, for: input)
                state.count(Hook.hook, PolicyDecisionSource.policy, into: metrics)
                return PolicyEvaluation(decision: decision, revision: id, source: .policy, error: nil, printed: state.printed)
            } catch {
                problem = error
            }
        case .notATable(let notATable):
            problem = notATable
        case .failure(let kind, let message):
            // Lua gives runtime and budget errors their own file:line; the others get the hook's.
            let hasPosition = kind == .runtime || kind == .instructionBudget || message.contains(".lua:")
            let message = kind == .invalidResult || kind == .memory || !hasPosition ? "\(Hook.hook.name) (\(location)): \(message)" : message
            return failed(contract, input, PolicyEvaluationError(hook: Hook.hook, kind: kind, message: message), printed: state.printed, quiet: quiet)
        }
        let error = PolicyEvaluationError(hook: Hook.hook, kind: .invalidResult, message: "\(Hook.hook.name) (\(location)) \(problem.sentence)")
        return failed(contract, input, error, printed: state.printed, quiet: quiet)
    }

    private func failed<Hook: PolicyHookContract>(
        _ contract: Hook.Type, _ input: Hook.Input, _ error: PolicyEvaluationError, printed: String, quiet: Bool
    ) -> PolicyEvaluation<Hook.Decision> {
        metrics.count(Hook.hook, PolicyDecisionSource.failClosed)
        if !quiet {
            logger.error(
                "policy error; using the fail-closed decision",
                metadata: ["policy.hook": "\(Hook.hook.name)", "policy.error_kind": "\(error.kind.rawValue)", "policy.error": "\(error.message)"]
            )
        }
        return PolicyEvaluation(decision: Hook.failClosedDecision(for: input), revision: id, source: .failClosed, error: error, printed: printed)
    }

    // MARK: Pool

    private func borrowState() throws(PolicyLoadError) -> LuaPolicyState {
        if let idle = idleStates.take() { return idle }
        return try LuaPolicyState(sources: sources, limits: limits)
    }

    private func giveBack(_ state: LuaPolicyState) {
        if state.isTiming { state.finishTiming(into: metrics) }
        if state.isSpent || !idleStates.put(state) {
            state.flushCounts(to: metrics)
        }
    }

    /// Adds the counts and timings idle states still hold in their batches to the metrics,
    /// so a scrape of a quiet server does not show evaluations as missing.
    public func flushPendingMetrics() {
        idleStates.forEachIdle { $0.flushCounts(to: metrics) }
    }

    deinit {
        while let state = idleStates.take() { state.flushCounts(to: metrics) }
    }

    /// States ready to lend (for tests and diagnostics).
    var idleStateCount: Int { idleStates.count }
}
