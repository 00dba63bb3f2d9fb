import Foundation

/// One running `serve`, as it last reported itself.
public struct InstanceHeartbeat: Sendable, Equatable {
    /// Unique per process run.
    public var id: String
    /// Where it runs (host name and port), for operators.
    public var address: String
    public var startedAt: Date
    public var heartbeatAt: Date
    /// The policy revision it serves.
    public var activeRevision: String
    /// Why it does not serve the cluster's revision, when it cannot load it.
    public var revisionProblem: String?

    public init(id: String, address: String, startedAt: Date, heartbeatAt: Date, activeRevision: String, revisionProblem: String?) {
        self.id = id
        self.address = address
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.activeRevision = activeRevision
        self.revisionProblem = revisionProblem
    }
}

/// What the instances sharing a store know of each other: who is alive (and on which
/// policy revision), and who runs a cluster-wide chore (recovery, reconciliation) now.
public protocol ClusterRegistry: Sendable {
    /// Records (or replaces) the instance's row.
    func recordHeartbeat(_ heartbeat: InstanceHeartbeat) async throws
    /// Instances whose last heartbeat is at or after `since`, by id.
    func instances(heartbeatSince since: Date) async throws -> [InstanceHeartbeat]
    /// Takes the lease on chore `name` for `owner` until `until`, when it is free (never
    /// taken, or expired at `now`) or already `owner`'s. True when `owner` holds it now.
    func claimLease(_ name: String, owner: String, until: Date, at now: Date) async throws -> Bool
}
