import ChittyCharge
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP reloads the policy folder (`systemctl reload chittycharge`, `kill -HUP`). A
/// candidate that fails is logged and the active revision keeps serving. Installed only by
/// `serve`: a process has one handler per signal, and tests must not take it.
struct PolicyReloadOnSignal: Service {
    let reloader: PolicyReloader
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals {
                logger.notice("SIGHUP: reloading policies", metadata: ["policy.directory": .string(reloader.directory)])
                // The engine logs the outcome (and remembers a failure for GET /admin/policies).
                _ = try? await reloader.reload(trigger: .signal)
            }
        }
    }
}
