import ChittyCharge
import Foundation
import Logging
import ServiceLifecycle

/// The service's own chores: at startup, finish every operation a crash or an unreachable
/// Stripe left pending (replaying its idempotency key); then keep minting pending
/// ChittyIDs, asking a new policy revision about pending scheduled actions, running the
/// scheduled actions that are due, retrying stale pending operations, and re-reading from
/// Stripe the unsettled holds that have been quiet too long (lost webhooks), until shutdown.
///
/// Scheduled actions and ChittyID jobs are claimed one by one (leases in the store), so
/// every instance runs those passes; recovery and reconciliation passes go over everything,
/// so one instance at a time runs them, under a chore lease in the store.
public struct BackgroundWork: Service {
    let holds: HoldServices
    let registry: any ClusterRegistry
    let mintInterval: Duration
    let recoveryInterval: Duration
    let reconciliationInterval: Duration
    /// How long an unsettled hold may go without news before Stripe is asked about it.
    let reconciliationQuietPeriod: TimeInterval
    let logger: Logger

    public init(holds: HoldServices, registry: any ClusterRegistry, mintInterval: Duration = .seconds(2), recoveryInterval: Duration = .seconds(30),
                reconciliationInterval: Duration = .seconds(300), reconciliationQuietPeriod: TimeInterval = 15 * 60,
                logger: Logger) {
        self.holds = holds
        self.registry = registry
        self.mintInterval = mintInterval
        self.recoveryInterval = recoveryInterval
        self.reconciliationInterval = reconciliationInterval
        self.reconciliationQuietPeriod = reconciliationQuietPeriod
        self.logger = logger
    }

    public func run() async throws {
        // Alone on its store, what is pending at startup was left by this instance's last
        // run: finish it now. With a shared store it may be running elsewhere: the grace applies.
        if await holdsChore("recovery", for: recoveryInterval) {
            await holds.recovery.recoverPendingOperations(grace: holds.configuration.storeIsShared ? nil : 0)
            await holds.bookingEvents.answerUnanswered()
        }
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
                if await holdsChore("recovery", for: recoveryInterval) {
                    await holds.recovery.recoverPendingOperations()
                    await holds.bookingEvents.answerUnanswered()
                }
            }
            if sinceReconciliation >= reconciliationInterval {
                sinceReconciliation = .zero
                if await holdsChore("reconciliation", for: reconciliationInterval) {
                    await holds.stripeSync.reconcile(quietFor: reconciliationQuietPeriod)
                }
            }
        }
    }

    /// Whether this instance runs chore `name` now: it holds the store's lease on it until
    /// just before its next pass, so with several instances one of them runs each pass, and
    /// another takes over once an instance stops renewing.
    private func holdsChore(_ name: String, for interval: Duration) async -> Bool {
        // Alone on its store (SQLite), there is no one to share with: a lease left by this
        // instance's previous run must not delay recovery after a restart.
        guard holds.configuration.storeIsShared else { return true }
        let now = Date()
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        do {
            return try await registry.claimLease(
                name, owner: holds.configuration.schedulerID, until: now.addingTimeInterval(seconds * 1.5), at: now)
        } catch {
            logger.warning("could not claim the \(name) lease; skipping this pass", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func gracefulShutdownOrSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }
}
