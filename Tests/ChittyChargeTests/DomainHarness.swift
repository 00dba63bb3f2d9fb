import ChittyCharge
import ChittyChargeTestSupport
import ChittyIDClient
import Foundation
import HoldStoreSQLite
import Logging
import Metrics
import PolicyEngine
import StripeAPI
import StripeEmulator

/// The hold services with nothing on a socket: a store in memory, the Stripe emulator
/// in-process (through `StripeClient`, so form encoding and retries are the real ones),
/// the shipped policies and a clock the test moves.
struct DomainHarness {
    let holds: HoldServices
    let store: any HoldStore
    let emulator: StripeEmulator
    let clock: ManualWallClock

    static let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static let policyDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies").path

    static func run(schedulerID: String = "scheduler-test", _ body: (DomainHarness) async throws -> Void) async throws {
        let clock = ManualWallClock(Date())
        let emulator = StripeEmulator(clock: clock)
        let gateway = StripeClient(
            transport: StripeEmulatorTransport(emulator: emulator), secretKey: "sk_test_domain",
            retryPolicy: StripeRetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1)),
            logger: quietLogger, sleep: { _ in })
        let store = try await SQLiteHoldStore.open(path: ":memory:", logger: quietLogger)
        do {
            let policies = try PolicyEngine(directory: policyDirectory, logger: quietLogger, metricsFactory: NOOPMetricsHandler.instance)
            let holds = HoldServices(
                store: store, gateway: gateway, minter: EmulatedChittyIDMinter(), policies: policies, clock: clock,
                configuration: HoldServiceConfiguration(recoveryGrace: 0, schedulerID: schedulerID), logger: quietLogger,
                metricsFactory: NOOPMetricsHandler.instance)
            try await body(DomainHarness(holds: holds, store: store, emulator: emulator, clock: clock))
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// A hold of `amount` placed and authorised by the guest (capturable).
    func authorisedHold(amount: Int = 20_000) async throws -> Hold {
        let placed = try await holds.placement.placeHold(
            HoldRequest(amount: amount, description: "Security deposit", propertyID: "prop_1"),
            client: "frontdesk", idempotencyKey: nil, logger: Self.quietLogger)
        if case .failure(let error) = await emulator.confirm(id: placed.hold.id, paymentMethod: "pm_card_visa") { throw error }
        return try await holds.queries.hold(id: placed.hold.id, refresh: true, access: .everyHold, logger: Self.quietLogger)
    }
}
