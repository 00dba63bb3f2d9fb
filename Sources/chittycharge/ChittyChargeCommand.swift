import ArgumentParser
import ChittyChargeServer

@main
struct ChittyChargeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chittycharge",
        abstract: "Authorization holds through Stripe, with rules written as Lua policies.",
        version: ServerConfiguration().version,
        subcommands: [ServeCommand.self, StripeEmulatorCommand.self, PolicyCommand.self, DatabaseCommand.self, RegisterCommand.self]
    )
}
