import Foundation

/// What asked for a policy set to become active.
public enum PolicyLoadTrigger: String, Sendable, Codable, CaseIterable {
    case startup
    /// SIGHUP (`systemctl reload`, `kill -HUP`).
    case signal
    /// `POST /admin/policies/reload` (also what `chittycharge policy reload` calls).
    case api
    /// `POST /admin/policies/rollback`: a stored earlier revision activated again.
    case rollback
    /// Another instance on the same database activated it (a reload or rollback there).
    case cluster
}

/// A policy set waiting to become active: its sources and the test cases it must pass.
public struct PolicyCandidate: Sendable {
    public var sources: PolicySourceSet
    public var tests: [PolicyTestCase]
    /// Test files or cases that could not be read; they fail the candidate.
    public var brokenTests: [PolicyTestOutcome]
    /// Whether every hook the policy defines needs a test case (or `tests.untested_hooks`):
    /// true for a folder being activated. A stored revision (rollback, another instance's
    /// activation) passed the gate of its day when it was first activated.
    public var requiresTestedHooks: Bool

    public init(sources: PolicySourceSet, tests: [PolicyTestCase], brokenTests: [PolicyTestOutcome] = [], requiresTestedHooks: Bool = false) {
        self.sources = sources
        self.tests = tests
        self.brokenTests = brokenTests
        self.requiresTestedHooks = requiresTestedHooks
    }

    /// The source set with the test cases of its own `tests/*.json`: the tests are part of
    /// the revision, so a stored revision brings its tests back with it.
    public init(sources: PolicySourceSet, requiresTestedHooks: Bool = false) {
        let (tests, broken) = PolicyTestSuite.load(files: sources.testFiles)
        self.init(sources: sources, tests: tests, brokenTests: broken, requiresTestedHooks: requiresTestedHooks)
    }

    /// The folder's modules, settings and `tests/*.json`, held to the test gate.
    public init(directory: String) throws(PolicyLoadError) {
        self.init(sources: try PolicySourceSet(directory: directory), requiresTestedHooks: true)
    }
}

/// One activation of a revision: which, replacing which, how, when, and what it passed.
public struct PolicyActivation: Sendable {
    public let revision: PolicyRevision
    /// The revision it replaced (itself when `changed` is false); nil at startup.
    public let previousRevision: String?
    public let trigger: PolicyLoadTrigger
    public let at: Date
    /// Test cases the revision passed before activating.
    public let testCount: Int
    /// Compile, smoke test, test cases and swap.
    public let duration: Duration
    /// False when the candidate's files were the active revision's already.
    public let changed: Bool
    /// Hooks the policy defines without a single test case (those in `tests.untested_hooks`
    /// by choice, or any at startup, which does not refuse them).
    public let untestedHooks: [PolicyHook]

    public var durationMilliseconds: Double { PolicyEngine.milliseconds(duration) }

    public init(revision: PolicyRevision, previousRevision: String?, trigger: PolicyLoadTrigger, at: Date,
                testCount: Int, duration: Duration, changed: Bool = true, untestedHooks: [PolicyHook] = []) {
        self.untestedHooks = untestedHooks
        self.revision = revision
        self.previousRevision = previousRevision
        self.trigger = trigger
        self.at = at
        self.testCount = testCount
        self.duration = duration
        self.changed = changed
    }
}

/// A reload that did not activate, kept so operators can see why.
public struct PolicyReloadFailure: Sendable {
    public let at: Date
    public let trigger: PolicyLoadTrigger
    /// Nil when the folder could not even be read.
    public let candidateRevision: String?
    public let error: PolicyLoadError
}

public struct PolicyEngineStatus: Sendable {
    public let active: PolicyActivation
    public let lastFailure: PolicyReloadFailure?
}
