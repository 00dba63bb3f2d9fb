import ChittyCharge
import ChittyChargeServer
import ChittyChargeWiring
import ChittyIDClient
import Foundation
import Logging
import PolicyEngine
import StripeEmulator
import Testing

/// `ChittyChargeSystem.build`, the one wiring `serve`, the harness and the benchmarks share:
/// what `/health` reports for each Stripe and ChittyID setup, and a store that cannot open.
@Suite struct WiringTests {
    static let quiet = Logger(label: "wiring-test") { _ in SwiftLogNoOpLogHandler() }
    static let policyDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies").path

    static func withSystem(
        stripe: ChittyChargeSystem.StripeSetup, chittyID: ChittyChargeSystem.ChittyIDSetup, webhookSecret: String? = nil,
        _ body: (ChittyChargeSystem) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cc-wiring-\(UUID().uuidString).sqlite").path
        let system = try await ChittyChargeSystem.build(
            .init(databasePath: path, policyDirectory: policyDirectory, stripe: stripe, chittyID: chittyID,
                  server: ServerConfiguration(host: "127.0.0.1", port: 8787, webhookSecret: webhookSecret),
                  authenticator: ClientAuthenticator()),
            policies: try PolicyEngine(directory: policyDirectory, logger: quiet), loggers: .init(all: quiet), metrics: .chittyCharge())
        do {
            try await body(system)
        } catch {
            try? await system.close()
            throw error
        }
        try await system.close()
    }

    @Test func nothingConfiguredLeavesHoldRoutesWithoutAGatewayAndMintsFail() async throws {
        try await Self.withSystem(stripe: .notConfigured, chittyID: .notConfigured) { system in
            let configuration = system.dependencies.configuration
            #expect(configuration.stripeMode == nil)
            #expect(configuration.chittyIDMode == nil)
            #expect(configuration.database == "sqlite")
            #expect(system.holds.gateway == nil)
            await #expect(throws: (any Error).self) {
                try await system.minter.mint(entityType: "hold", metadata: [:])
            }
        }
    }

    @Test func aRealKeySaysLiveOrTestByItsPrefix() async throws {
        try await Self.withSystem(stripe: .api(secretKey: "sk_live_x", apiBase: "http://127.0.0.1:9"), chittyID: .notConfigured) { system in
            #expect(system.dependencies.configuration.stripeMode == "live")
        }
        try await Self.withSystem(stripe: .api(secretKey: "sk_test_x", apiBase: "http://127.0.0.1:9"), chittyID: .remote(
            baseURL: "http://127.0.0.1:9", token: "t")) { system in
            #expect(system.dependencies.configuration.stripeMode == "test")
            #expect(system.dependencies.configuration.chittyIDMode == "remote")
        }
    }

    @Test func anEmulatorThatSendsWebhooksGetsAFreshSecretWhenNoneIsSet() async throws {
        try await Self.withSystem(stripe: .emulator(StripeEmulator(), sendsWebhooks: true), chittyID: .emulator()) { system in
            let configuration = system.dependencies.configuration
            #expect(configuration.stripeMode == "emulator")
            #expect(configuration.chittyIDMode == "emulator")
            #expect(configuration.webhookSecret?.hasPrefix("whsec_emulator_") == true)
            #expect(system.stripeEmulatorServer == nil, "no API port was asked for")
        }
        try await Self.withSystem(stripe: .emulator(StripeEmulator(), sendsWebhooks: true), chittyID: .emulator(),
                                  webhookSecret: "whsec_given") { system in
            #expect(system.dependencies.configuration.webhookSecret == "whsec_given")
        }
        // A benchmark posting its own webhooks: the emulator does not, and no secret is made up.
        try await Self.withSystem(stripe: .emulator(StripeEmulator(), apiPort: 0), chittyID: .emulator()) { system in
            #expect(system.dependencies.configuration.webhookSecret == nil)
            #expect(system.stripeEmulatorServer != nil)
        }
    }

    @Test func aStoreThatCannotOpenIsRefusedWithItsPath() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/x.sqlite"
        let error = await #expect(throws: StartupError.self) {
            _ = try await ChittyChargeSystem.build(
                .init(databasePath: path, policyDirectory: Self.policyDirectory, stripe: .notConfigured, chittyID: .notConfigured,
                      server: ServerConfiguration(), authenticator: ClientAuthenticator()),
                policies: try PolicyEngine(directory: Self.policyDirectory, logger: Self.quiet), loggers: .init(all: Self.quiet),
                metrics: .chittyCharge())
        }
        #expect(error?.message.contains("could not open the SQLite store at \(path)") == true)
    }
}
