import ChittyCharge
import Logging
import ServiceLifecycle

/// The service's own chores: at startup, finish every operation a crash or an unreachable
/// Stripe left pending (replaying its idempotency key); then keep minting pending
/// ChittyIDs and retrying stale pending operations until shutdown.
struct BackgroundWork: Service {
    let holds: HoldService
    let mintInterval: Duration
    let recoveryInterval: Duration
    let logger: Logger

    func run() async throws {
        await holds.recoverPendingOperations(grace: 0)
        var sinceRecovery = Duration.zero
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await holds.processMintOutbox()
            do {
                try await gracefulShutdownOrSleep(mintInterval)
            } catch {
                return
            }
            sinceRecovery += mintInterval
            if sinceRecovery >= recoveryInterval {
                sinceRecovery = .zero
                await holds.recoverPendingOperations()
            }
        }
    }

    private func gracefulShutdownOrSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }
}
