import Logging
import Synchronization

/// The active policy revision and its replacement.
///
/// Callers take `revision` once per request and evaluate on it. `reload` builds and
/// smoke-tests a candidate off to the side and swaps it in atomically; when the candidate
/// fails, the active revision stays and the error is thrown (keep-last-good).
public final class PolicyEngine: Sendable {
    public let limits: PolicyLimits
    private let logger: Logger
    private let metrics = PolicyMetrics()
    private let active: Mutex<PolicyRevision>
    /// Serialises reloads so two candidates are never built at once.
    private let reloading = Mutex(())

    /// Loads the policy folder; throws when it does not compile or fails its smoke test,
    /// which stops the server at startup.
    public convenience init(directory: String, limits: PolicyLimits = .default, logger: Logger = Logger(label: "chittycharge.policy")) throws(PolicyLoadError) {
        try self.init(sources: PolicySourceSet(directory: directory), limits: limits, logger: logger)
    }

    public init(sources: PolicySourceSet, limits: PolicyLimits = .default, logger: Logger = Logger(label: "chittycharge.policy")) throws(PolicyLoadError) {
        self.limits = limits
        self.logger = logger
        let first = try PolicyRevision(sources: sources, limits: limits, logger: logger, metrics: metrics)
        self.active = Mutex(first)
        logger.info("policy loaded", metadata: ["policy.revision": "\(first.id)", "policy.directory": "\(sources.directory)"])
    }

    /// The revision new evaluations should use.
    public var revision: PolicyRevision {
        active.withLock { $0 }
    }

    @discardableResult
    public func reload(from directory: String) throws(PolicyLoadError) -> PolicyRevision {
        let sources: PolicySourceSet
        do {
            sources = try PolicySourceSet(directory: directory)
        } catch {
            logger.error("policy reload failed; keeping the active revision", metadata: ["policy.revision": "\(revision.id)", "policy.error": "\(error.message)"])
            throw error
        }
        return try reload(sources: sources)
    }

    @discardableResult
    public func reload(sources: PolicySourceSet) throws(PolicyLoadError) -> PolicyRevision {
        try reloading.withLock { _ throws(PolicyLoadError) -> PolicyRevision in
            let current = revision
            if current.id == sources.revision && current.limits == limits { return current }
            let candidate: PolicyRevision
            do throws(PolicyLoadError) {
                candidate = try PolicyRevision(sources: sources, limits: limits, logger: logger, metrics: metrics)
            } catch {
                logger.error(
                    "policy reload failed; keeping the active revision",
                    metadata: ["policy.revision": "\(current.id)", "policy.candidate": "\(sources.revision)", "policy.error": "\(error.message)"]
                )
                throw error
            }
            active.withLock { $0 = candidate }
            logger.info("policy reloaded", metadata: ["policy.revision": "\(candidate.id)", "policy.previous_revision": "\(current.id)"])
            return candidate
        }
    }
}
