import Foundation
import Logging
import PolicyEngine

/// Reload and rollback of the active policy set, whichever way they are asked for (SIGHUP,
/// the admin API, the CLI through the API), one at a time so the stored history records
/// activations in the order they happened. "One at a time" is the gate, not the actor: an
/// actor lets the next call in while one awaits the store.
///
/// Every activation's sources go into the store, so `rollback` can bring back an earlier
/// revision after the folder on disk has changed.
public actor PolicyReloader {
    public nonisolated let engine: PolicyEngine
    /// The folder reloads read (`POLICY_DIR`).
    public nonisolated let directory: String
    private let store: any PolicyRevisionStore
    /// Held from a reload's or rollback's first read to its stored record.
    private let gate = SerialGate()
    /// How many recently active revisions keep their sources.
    private let keep: Int
    /// Other instances share the store: the most recently activated stored revision is the
    /// cluster's, and this instance serves it (`followCluster`).
    public nonisolated let followsCluster: Bool
    /// Why this instance does not serve the cluster's revision (it does not load here).
    public private(set) var clusterProblem: String?
    /// The cluster revision that failed to load here, not tried again until another comes.
    private var refusedClusterRevision: String?
    private let logger: Logger

    public init(engine: PolicyEngine, directory: String, store: any PolicyRevisionStore, keep: Int = 10,
                followsCluster: Bool = false, logger: Logger) {
        self.engine = engine
        self.directory = directory
        self.store = store
        self.keep = keep
        self.followsCluster = followsCluster
        self.logger = logger
    }

    /// Stores the revision the server started with, so a later rollback can return to it.
    /// An instance joining a cluster instead starts on the cluster's revision, when there
    /// is one: restarting an instance never changes what the others serve.
    public func recordStartup() async {
        await gate.run {
            if followsCluster, let newest = try? await store.policyRevisions(limit: 1).first {
                if newest.id != engine.revision.id {
                    logger.notice("starting on the cluster's policy revision, not the folder's", metadata: [
                        "policy.revision": .string(newest.id), "policy.folder_revision": .string(engine.revision.id),
                    ])
                }
                await follow(newest)
                return
            }
            await remember(engine.status.active)
        }
    }

    /// Serves the cluster's revision (the most recently activated one in the store) if this
    /// instance does not yet. One that does not load here is refused once, and this instance
    /// keeps its last good revision and says why in `clusterProblem`.
    public func followCluster() async {
        await gate.run {
            guard followsCluster else { return }
            do {
                guard let newest = try await store.policyRevisions(limit: 1).first else { return }
                await follow(newest)
            } catch {
                logger.warning("could not read the cluster's policy revision", metadata: ["error": "\(error)"])
            }
        }
    }

    private func follow(_ newest: PolicyRevisionRecord) async {
        if newest.id == engine.revision.id {
            clusterProblem = nil
            refusedClusterRevision = nil
            return
        }
        guard newest.id != refusedClusterRevision else { return }
        do throws(PolicyLoadError) {
            let sources = try newest.sourceSet()
            guard sources.revision == newest.id else {
                throw PolicyLoadError("stored revision \(newest.id) hashes to \(sources.revision)")
            }
            try engine.reload(PolicyCandidate(sources: sources), trigger: .cluster)
            clusterProblem = nil
            refusedClusterRevision = nil
            logger.notice("policy revision activated by another instance now serves here", metadata: ["policy.revision": .string(newest.id)])
        } catch {
            refusedClusterRevision = newest.id
            clusterProblem = "the cluster's revision \(newest.id) does not load here: \(error.message); serving \(engine.revision.id)"
            logger.error("the cluster's policy revision does not load here; keeping the last good one", metadata: [
                "policy.revision": .string(engine.revision.id), "policy.cluster_revision": .string(newest.id),
                "error": .string(error.message),
            ])
        }
    }

    /// How many reloads and rollbacks wait for the one in progress.
    nonisolated var waiting: Int { gate.waiting }

    /// Reads the folder again; the candidate must compile, pass its smoke test and its own
    /// test cases before it replaces the active revision.
    @discardableResult
    /// `by` and `message`: who asked and why, kept with the activation record.
    public func reload(trigger: PolicyLoadTrigger, by admin: String? = nil, message: String? = nil) async throws(PolicyLoadError) -> PolicyActivation {
        try await gate.run { () async throws(PolicyLoadError) -> PolicyActivation in
            let activation = try engine.reload(from: directory, trigger: trigger)
            if activation.changed { await remember(activation, by: admin, message: message) }
            return activation
        }
    }

    public enum RollbackError: Error, Sendable {
        /// No stored revision other than the active one.
        case nothingToRollBackTo
        case unknownRevision(String)
        /// The stored sources do not hash to their id any more.
        case corrupt(String)
        /// The revision no longer loads (for example the limits changed since).
        case failed(PolicyLoadError)
        case store(String)
    }

    /// Activates a stored revision again: the one given, or else the most recently active
    /// one before the current. Its test cases passed when it was first activated, and tests
    /// do not change a revision's decisions, so they are not run again.
    @discardableResult
    public func rollback(to id: String? = nil, by admin: String? = nil, message: String? = nil) async throws(RollbackError) -> PolicyActivation {
        try await gate.run { () async throws(RollbackError) -> PolicyActivation in try await rollbackNow(to: id, by: admin, message: message) }
    }

    private func rollbackNow(to id: String?, by admin: String?, message: String?) async throws(RollbackError) -> PolicyActivation {
        let current = engine.revision.id
        let target: PolicyRevisionRecord
        do {
            if let id {
                guard let found = try await store.policyRevision(id: id) else { throw RollbackError.unknownRevision(id) }
                target = found
            } else {
                guard let previous = try await store.policyRevisions(limit: keep + 1).first(where: { $0.id != current }) else {
                    throw RollbackError.nothingToRollBackTo
                }
                target = previous
            }
        } catch let error as RollbackError {
            throw error
        } catch {
            throw .store("\(error)")
        }
        let sources: PolicySourceSet
        do {
            sources = try target.sourceSet()
        } catch {
            throw .corrupt("stored revision \(target.id) cannot be read back: \(error.message)")
        }
        guard sources.revision == target.id else {
            throw .corrupt("stored revision \(target.id) hashes to \(sources.revision); refusing to activate it")
        }
        let activation: PolicyActivation
        do {
            activation = try engine.reload(PolicyCandidate(sources: sources), trigger: .rollback)
        } catch {
            throw .failed(error)
        }
        if activation.changed { await remember(activation, by: admin, message: message) }
        return activation
    }

    /// One stored revision (its files as activated), or nil when none has this id.
    public func storedRevision(id: String) async throws -> PolicyRevisionRecord? {
        try await store.policyRevision(id: id)
    }

    /// Recently active revisions, newest first.
    public func history(limit: Int = 10) async throws -> [PolicyRevisionRecord] {
        try await store.policyRevisions(limit: limit)
    }

    private func remember(_ activation: PolicyActivation, by admin: String? = nil, message: String? = nil) async {
        do {
            try await store.recordPolicyActivation(PolicyRevisionRecord(activation: activation, activatedBy: admin, message: message), keep: keep)
        } catch {
            // The revision is active either way; only a later rollback to it is lost.
            logger.error("could not store the policy revision for rollback", metadata: [
                "policy.revision": .string(activation.revision.id), "error": "\(error)",
            ])
        }
    }
}
