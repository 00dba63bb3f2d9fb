import ChittyCharge
import Foundation
import Logging
import ServiceLifecycle

/// Every `interval`: serve the cluster's policy revision (when the store is shared), then
/// tell the store this instance is alive and which revision it serves, so
/// `GET /admin/policies` can list every live instance.
///
/// A reload or rollback on one instance stores the revision; the others pick it up on their
/// next beat, within `interval` (1 s) of the store acknowledging it.
public struct ClusterHeartbeat: Service {
    let reloader: PolicyReloader
    let registry: any ClusterRegistry
    let instanceID: String
    let address: String
    let startedAt: Date
    let interval: Duration
    let logger: Logger

    public init(reloader: PolicyReloader, registry: any ClusterRegistry, instanceID: String, address: String,
                interval: Duration = .seconds(1), logger: Logger) {
        self.reloader = reloader
        self.registry = registry
        self.instanceID = instanceID
        self.address = address
        self.startedAt = Date()
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await beat()
                if failing { logger.notice("instance heartbeat recorded again") }
                failing = false
            } catch {
                if !failing { logger.warning("could not record the instance heartbeat", metadata: ["error": "\(error)"]) }
                failing = true
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One beat: follow the cluster's revision, then record this instance.
    public func beat() async throws {
        await reloader.followCluster()
        try await registry.recordHeartbeat(InstanceHeartbeat(
            id: instanceID, address: address, startedAt: startedAt, heartbeatAt: Date(),
            activeRevision: reloader.engine.revision.id, revisionProblem: await reloader.clusterProblem))
    }
}
