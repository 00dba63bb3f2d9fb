import ArgumentParser

@main
struct ChittyChargeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chittycharge",
        abstract: "Authorization holds through Stripe, with rules written as Lua policies.",
        version: "1.0.0",
        subcommands: [ServeCommand.self, StripeEmulatorCommand.self, PolicyCommand.self]
    )
}
