import Foundation
import Logging
import Metrics
import Synchronization

/// The active policy revision and its replacement.
///
/// Callers take `revision` once per request and evaluate on it. A reload builds a candidate
/// off to the side, smoke-tests it, runs the policy's own test cases on it, and only then
/// swaps it in atomically; when any step fails the active revision stays (keep-last-good)
/// and the failure is both thrown and remembered for `status`.
public final class PolicyEngine: Sendable {
    public let limits: PolicyLimits
    private let logger: Logger
    private let metrics: PolicyMetrics
    private let metricsFactory: any MetricsFactory
    private let state: Mutex<State>
    /// Serialises reloads so two candidates are never built at once.
    private let reloading = Mutex(())

    private struct State: Sendable {
        var activation: PolicyActivation
        var lastFailure: PolicyReloadFailure?
    }

    /// Loads the policy folder and its test cases; throws when it does not compile, fails its
    /// smoke test or fails one of its own tests, which stops the server at startup.
    ///
    /// A hook without a test case does not stop a start (an operator restarting a service
    /// must get it back): it is logged as a warning and shown by `untestedHooks` in the
    /// status. Every reload holds the folder to the gate.
    public convenience init(
        directory: String, limits: PolicyLimits = .default, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(PolicyLoadError) {
        var candidate = try PolicyCandidate(directory: directory)
        candidate.requiresTestedHooks = false
        try self.init(candidate: candidate, limits: limits, logger: logger, metricsFactory: metricsFactory)
        let untested = status.active.untestedHooks.filter { !candidate.sources.untestedHooks.contains($0) }
        if !untested.isEmpty {
            logger.warning("policy hooks without a test case; a reload of this folder will be refused until they have one or settings.json lists them in tests.untested_hooks", metadata: [
                "policy.untested_hooks": "\(untested.map(\.name).joined(separator: ","))",
            ])
        }
    }

    /// A policy set from memory, with no test cases (tests and tools).
    public convenience init(
        sources: PolicySourceSet, limits: PolicyLimits = .default, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(PolicyLoadError) {
        try self.init(candidate: PolicyCandidate(sources: sources), limits: limits, logger: logger, metricsFactory: metricsFactory)
    }

    public init(
        candidate: PolicyCandidate, limits: PolicyLimits = .default, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(PolicyLoadError) {
        self.limits = limits
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.metrics = PolicyMetrics(factory: metricsFactory)
        let started = ContinuousClock.now
        let first = try Self.build(candidate, limits: limits, logger: logger, metrics: metrics)
        let activation = PolicyActivation(
            revision: first.revision, previousRevision: nil, trigger: .startup, at: first.revision.loadedAt,
            testCount: first.testCount, duration: ContinuousClock.now - started, untestedHooks: first.untestedHooks)
        self.state = Mutex(State(activation: activation, lastFailure: nil))
        markActive(first.revision.id, previous: nil)
        logger.info("policy loaded", metadata: [
            "policy.revision": "\(first.revision.id)", "policy.directory": "\(candidate.sources.directory)", "policy.tests": "\(first.testCount)",
        ])
    }

    /// The revision new evaluations should use.
    public var revision: PolicyRevision {
        state.withLock { $0.activation.revision }
    }

    /// The active revision with how and when it was activated, and the last failed attempt.
    public var status: PolicyEngineStatus {
        state.withLock { PolicyEngineStatus(active: $0.activation, lastFailure: $0.lastFailure) }
    }

    /// Reads the folder (sources and `tests/`) and activates it if it passes.
    @discardableResult
    public func reload(from directory: String, trigger: PolicyLoadTrigger = .api) throws(PolicyLoadError) -> PolicyActivation {
        let candidate: PolicyCandidate
        do {
            candidate = try PolicyCandidate(directory: directory)
        } catch {
            throw recordFailure(error, candidateRevision: nil, trigger: trigger)
        }
        return try reload(candidate, trigger: trigger)
    }

    /// Activates a source set with no test cases (tests of the engine, rollback to a stored
    /// revision that passed its tests when it was first activated).
    @discardableResult
    public func reload(sources: PolicySourceSet, trigger: PolicyLoadTrigger = .api) throws(PolicyLoadError) -> PolicyActivation {
        try reload(PolicyCandidate(sources: sources), trigger: trigger)
    }

    @discardableResult
    public func reload(_ candidate: PolicyCandidate, trigger: PolicyLoadTrigger) throws(PolicyLoadError) -> PolicyActivation {
        try reloading.withLock { _ throws(PolicyLoadError) -> PolicyActivation in
            let started = ContinuousClock.now
            let current = revision
            if current.id == candidate.sources.revision && current.limits == limits {
                // Same files: nothing to build. Counted so operators see the reload arrived.
                count(outcome: "unchanged", trigger: trigger)
                return PolicyActivation(revision: current, previousRevision: current.id, trigger: trigger, at: Date(),
                                        testCount: 0, duration: ContinuousClock.now - started, changed: false,
                                        untestedHooks: state.withLock { $0.activation.untestedHooks })
            }
            let built: (revision: PolicyRevision, testCount: Int, untestedHooks: [PolicyHook])
            do throws(PolicyLoadError) {
                built = try Self.build(candidate, limits: limits, logger: logger, metrics: metrics)
            } catch {
                throw recordFailure(error, candidateRevision: candidate.sources.revision, trigger: trigger)
            }
            let activation = PolicyActivation(
                revision: built.revision, previousRevision: current.id, trigger: trigger, at: Date(),
                testCount: built.testCount, duration: ContinuousClock.now - started, untestedHooks: built.untestedHooks)
            // A success clears the last failure: status then describes what serves now.
            state.withLock { $0.activation = activation; $0.lastFailure = nil }
            markActive(built.revision.id, previous: current.id)
            count(outcome: "success", trigger: trigger)
            logger.notice("policy reloaded", metadata: [
                "policy.revision": "\(built.revision.id)", "policy.previous_revision": "\(current.id)",
                "policy.trigger": "\(trigger.rawValue)", "policy.tests": "\(built.testCount)",
                "duration_ms": "\(Self.milliseconds(activation.duration))",
            ])
            return activation
        }
    }

    /// Everything a reload checks (compile, smoke test, the folder's test cases, a test per
    /// defined hook), without activating anything: what `chittycharge policy check` runs.
    public static func validate(_ candidate: PolicyCandidate, limits: PolicyLimits = .default, logger: Logger)
        throws(PolicyLoadError) -> (revision: PolicyRevision, testCount: Int, untestedHooks: [PolicyHook]) {
        try build(candidate, limits: limits, logger: logger, metrics: PolicyMetrics())
    }

    /// Compiles and smoke-tests the candidate (PolicyRevision does both), then runs its test
    /// cases; a broken test file counts as a failure, so a typo cannot switch tests off.
    private static func build(
        _ candidate: PolicyCandidate, limits: PolicyLimits, logger: Logger, metrics: PolicyMetrics
    ) throws(PolicyLoadError) -> (revision: PolicyRevision, testCount: Int, untestedHooks: [PolicyHook]) {
        let revision = try PolicyRevision(sources: candidate.sources, limits: limits, logger: logger, metrics: metrics)
        // A hook without a single test case goes live only when the folder says so, so
        // removing the tests (or never writing them) is a visible choice, not an accident.
        let tested = Set(candidate.tests.map(\.hook))
        let withoutCases = PolicyHook.allCases.filter { revision.definedHooks[$0] != nil && !tested.contains($0) }
        let untested = withoutCases.filter { !candidate.sources.untestedHooks.contains($0) }
        if candidate.requiresTestedHooks && !untested.isEmpty {
            let names = untested.map(\.name)
            throw PolicyLoadError(
                "\(names.joined(separator: ", ")) \(names.count == 1 ? "has" : "have") no test case in \(PolicySourceSet.testsFolder)/: "
                    + "add one (see policies/README.md, Testing a change), or say on purpose that "
                    + "\(names.count == 1 ? "it goes" : "they go") untested in \(PolicySourceSet.settingsFile): "
                    + "{\"tests\": {\"untested_hooks\": [\(names.map { "\"\($0)\"" }.joined(separator: ", "))]}}")
        }
        let outcomes = candidate.brokenTests + PolicyTestSuite.run(candidate.tests, on: revision)
        let failed = outcomes.filter { !$0.passed }
        guard failed.isEmpty else {
            let shown = failed.prefix(5).map { "\($0.location): \($0.name): \($0.failure ?? "")" }
            throw PolicyLoadError(
                "\(failed.count) of \(outcomes.count) policy test case(s) failed: " + shown.joined(separator: "; ")
                    + (failed.count > shown.count ? "; …" : ""),
                failedTests: failed)
        }
        return (revision, outcomes.count, withoutCases)
    }

    private func recordFailure(_ error: PolicyLoadError, candidateRevision: String?, trigger: PolicyLoadTrigger) -> PolicyLoadError {
        let failure = PolicyReloadFailure(at: Date(), trigger: trigger, candidateRevision: candidateRevision, error: error)
        let current = state.withLock { state in
            state.lastFailure = failure
            return state.activation.revision.id
        }
        count(outcome: "failure", trigger: trigger)
        logger.error("policy reload failed; keeping the active revision", metadata: [
            "policy.revision": "\(current)", "policy.candidate": "\(candidateRevision ?? "unreadable")",
            "policy.trigger": "\(trigger.rawValue)", "policy.error": "\(error.message)",
        ])
        return error
    }

    // MARK: Metrics

    private func count(outcome: String, trigger: PolicyLoadTrigger) {
        Counter(label: "chittycharge_policy_reloads_total", dimensions: [("outcome", outcome), ("trigger", trigger.rawValue)],
                factory: metricsFactory).increment()
    }

    /// `chittycharge_policy_active_revision{revision="…"}` is 1 for the active revision and 0
    /// for the one it replaced, so a dashboard shows which revision serves and when it changed.
    private func markActive(_ revision: String, previous: String?) {
        if let previous, previous != revision {
            Gauge(label: "chittycharge_policy_active_revision", dimensions: [("revision", previous)], factory: metricsFactory).record(0)
        }
        Gauge(label: "chittycharge_policy_active_revision", dimensions: [("revision", revision)], factory: metricsFactory).record(1)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
