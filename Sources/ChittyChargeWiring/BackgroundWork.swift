import ChittyCharge
import Foundation
import Logging
import ServiceLifecycle

/// The service's own chores: at startup, finish every operation a crash or an unreachable
/// Stripe left pending (replaying its idempotency key); then keep minting pending
/// ChittyIDs, asking a new policy revision about pending scheduled actions, running the
/// scheduled actions that are due, retrying stale pending operations, and re-reading from
/// Stripe the unsettled holds that have been quiet too long (lost webhooks), until shutdown.
public struct BackgroundWork: Service {
    let holds: HoldServices
    let mintInterval: Duration
    let recoveryInterval: Duration
    let reconciliationInterval: Duration
    /// How long an unsettled hold may go without news before Stripe is asked about it.
    let reconciliationQuietPeriod: TimeInterval
    let logger: Logger

    public init(holds: HoldServices, mintInterval: Duration = .seconds(2), recoveryInterval: Duration = .seconds(30),
                reconciliationInterval: Duration = .seconds(300), reconciliationQuietPeriod: TimeInterval = 15 * 60,
                logger: Logger) {
        self.holds = holds
        self.mintInterval = mintInterval
        self.recoveryInterval = recoveryInterval
        self.reconciliationInterval = reconciliationInterval
        self.reconciliationQuietPeriod = reconciliationQuietPeriod
        self.logger = logger
    }

    public func run() async throws {
        await holds.recovery.recoverPendingOperations(grace: 0)
        var sinceRecovery = Duration.zero
        var sinceReconciliation = Duration.zero
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await holds.chittyIDOutbox.processDueJobs()
            await holds.planner.reevaluate()
            await holds.scheduler.runDue()
            do {
                try await gracefulShutdownOrSleep(mintInterval)
            } catch {
                return
            }
            sinceRecovery += mintInterval
            sinceReconciliation += mintInterval
            if sinceRecovery >= recoveryInterval {
                sinceRecovery = .zero
                await holds.recovery.recoverPendingOperations()
            }
            if sinceReconciliation >= reconciliationInterval {
                sinceReconciliation = .zero
                await holds.stripeSync.reconcile(quietFor: reconciliationQuietPeriod)
            }
        }
    }

    private func gracefulShutdownOrSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }
}
