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
    private let logger: Logger

    public init(engine: PolicyEngine, directory: String, store: any PolicyRevisionStore, keep: Int = 10,
                logger: Logger) {
        self.engine = engine
        self.directory = directory
        self.store = store
        self.keep = keep
        self.logger = logger
    }

    /// Stores the revision the server started with, so a later rollback can return to it.
    public func recordStartup() async {
        await gate.run { await remember(engine.status.active) }
    }

    /// How many reloads and rollbacks wait for the one in progress.
    nonisolated var waiting: Int { gate.waiting }

    /// Reads the folder again; the candidate must compile, pass its smoke test and its own
    /// test cases before it replaces the active revision.
    @discardableResult
    public func reload(trigger: PolicyLoadTrigger) async throws(PolicyLoadError) -> PolicyActivation {
        try await gate.run { () async throws(PolicyLoadError) -> PolicyActivation in
            let activation = try engine.reload(from: directory, trigger: trigger)
            if activation.changed { await remember(activation) }
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
    public func rollback(to id: String? = nil) async throws(RollbackError) -> PolicyActivation {
        try await gate.run { () async throws(RollbackError) -> PolicyActivation in try await rollbackNow(to: id) }
    }

    private func rollbackNow(to id: String?) async throws(RollbackError) -> PolicyActivation {
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
        if activation.changed { await remember(activation) }
        return activation
    }

    /// Recently active revisions, newest first.
    public func history(limit: Int = 10) async throws -> [PolicyRevisionRecord] {
        try await store.policyRevisions(limit: limit)
    }

    private func remember(_ activation: PolicyActivation) async {
        do {
            try await store.recordPolicyActivation(PolicyRevisionRecord(activation: activation), keep: keep)
        } catch {
            // The revision is active either way; only a later rollback to it is lost.
            logger.error("could not store the policy revision for rollback", metadata: [
                "policy.revision": .string(activation.revision.id), "error": "\(error)",
            ])
        }
    }
}
