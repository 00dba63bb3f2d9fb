import Foundation
import Logging

/// Finishes what a crash or an unreachable Stripe left pending, replaying each operation
/// with its original idempotency key. Run at startup (grace 0) and periodically.
public struct Recovery: Sendable {
    public typealias Store = CreateOperationRecords & HoldOperationRecords

    let store: any Store
    let gateway: (any PaymentGateway)?
    let creator: HoldCreator
    let operations: HoldOperations
    let clock: any WallClock
    let grace: TimeInterval
    let maxCreateReplayAge: TimeInterval
    let logger: Logger

    public init(store: any Store, gateway: (any PaymentGateway)?, creator: HoldCreator, operations: HoldOperations,
                clock: any WallClock, configuration: HoldServiceConfiguration, logger: Logger) {
        self.store = store
        self.gateway = gateway
        self.creator = creator
        self.operations = operations
        self.clock = clock
        self.grace = configuration.recoveryGrace
        self.maxCreateReplayAge = configuration.maxCreateReplayAge
        self.logger = logger
    }

    /// Replays the pending operations older than `grace` (the configured one by default).
    @discardableResult
    public func recoverPendingOperations(grace: TimeInterval? = nil) async -> (resolved: Int, stillPending: Int) {
        guard let gateway else { return (0, 0) }
        let cutoff = clock.now().addingTimeInterval(-(grace ?? self.grace))
        var resolved = 0
        var stillPending = 0
        do {
            for operation in try await store.pendingCreates() where operation.updatedAt <= cutoff {
                if clock.now().timeIntervalSince(operation.createdAt) > maxCreateReplayAge {
                    let abandoned = HoldServiceError(.createAbandoned, "Stripe never confirmed this hold and its idempotency key has expired; check the Stripe dashboard for an intent with this operation key", details: ["operation_key": .string(operation.key)])
                    logger.error("abandoning a create older than Stripe's idempotency window", metadata: ["operation.key": .string(operation.key)])
                    try await store.failCreate(key: operation.key, failure: abandoned, at: clock.now())
                    resolved += 1
                    continue
                }
                switch await creator.execute(operation, gateway: gateway) {
                case .success: resolved += 1
                case .failure(let error) where error.leavesOperationPending: stillPending += 1
                case .failure: resolved += 1
                }
            }
            for operation in try await store.pendingOperations() where operation.updatedAt <= cutoff {
                switch await operations.execute(operation, gateway: gateway) {
                case .success: resolved += 1
                case .failure(let error) where error.leavesOperationPending: stillPending += 1
                case .failure: resolved += 1
                }
            }
        } catch {
            logger.error("recovery could not read pending operations", metadata: ["error": "\(error)"])
        }
        if resolved + stillPending > 0 {
            logger.info("recovery pass", metadata: ["resolved": "\(resolved)", "still_pending": "\(stillPending)"])
        }
        return (resolved, stillPending)
    }
}
