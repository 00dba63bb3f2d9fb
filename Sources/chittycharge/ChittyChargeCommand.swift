import ArgumentParser
import ChittyChargeServer
import Foundation
import NIOCore
import NIOPosix

struct ChittyChargeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chittycharge",
        abstract: "Authorization holds through Stripe, with rules written as Lua policies.",
        version: ServerConfiguration().version,
        subcommands: [ServeCommand.self, StripeEmulatorCommand.self, PolicyCommand.self, DatabaseCommand.self, RegisterCommand.self]
    )
}

@main
enum ChittyChargeMain {
    /// Swift Concurrency runs on NIO's event loops (the group Hummingbird, SQLite and the
    /// HTTP client already use) instead of a pool of its own: a request's handler then runs
    /// on the loop that read it, without two thread hops per request (Benchmarks/README.md,
    /// "Performance against nginx + Lua"). Nothing on a request's path blocks a thread:
    /// SQLite runs on its own thread pool, and a policy call stops at its time limit.
    /// `CHITTYCHARGE_CONCURRENCY_EXECUTOR=default` keeps Swift's own pool.
    @MainActor static func main() async {
        if ProcessInfo.processInfo.environment["CHITTYCHARGE_CONCURRENCY_EXECUTOR"] != "default" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await ChittyChargeCommand.main()
    }
}
