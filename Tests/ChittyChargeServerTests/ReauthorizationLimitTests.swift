import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import JSON
import MetricsTestKit
import StripeEmulator
import Testing

@Suite("Reauthorization limits: not too early, not forever")
struct ReauthorizationLimitTests {
    /// Asks for a new authorization right away, every time it is asked.
    static let eagerPolicy = """
        function hold_schedule(hold)
          return { action = "reauthorize", at = chitty.parse_time(hold.created_at) }
        end
        """

    static let savedCardHold: [String: JSONValue] = [
        "amount": 25_000, "description": "Long stay", "customer": "cus_guest", "payment_method": "pm_card_visa",
    ]

    @Test func aReauthorizationAtNowIsRefusedAsAPolicyError() async throws {
        let clock = ManualWallClock()
        let metrics = TestMetrics()
        var options = ScheduleTests.options(clock, policy: Self.eagerPolicy)
        options.metrics = metrics
        try await ServerHarness.run(options) { harness in
            let created = try await harness.api.createHold(Self.savedCardHold)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"]?.stringValue)
            #expect(created.json["scheduled_action"] == .null)
            #expect(created.json["flags"] == ["no_action_before_expiry"])
            let refused = try metrics.expectCounter("chittycharge_holds_flagged_total", [("reason", "reauthorization_refused")])
            #expect(refused.totalValue == 1)
            let history = try await harness.store.webhookEvents(holdID: id).filter { $0.type == HoldHistoryEntryType.reauthorizationRefused }
            #expect(history.map(\.outcome) == [.failed])
            let detail = String(decoding: history.first?.payload ?? Data(), as: UTF8.self)
            #expect(detail.contains("48 h before the capture deadline"), "\(detail)")

            // Time passes and the scheduler runs: no new authorization is ever placed.
            for _ in 0..<5 {
                clock.advance(by: 2)
                _ = await harness.holds.scheduler.runDue()
            }
            #expect(await harness.emulator.paymentIntents().count == 1)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").count == 1)
        }
    }

    @Test func aChainIsCapped() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(ScheduleTests.options(clock, policy: ReauthorizationTests.longStayPolicy)) { harness in
            var body = Self.savedCardHold
            body["metadata"] = ["long_stay": "yes"]
            let created = try await harness.api.createHold(body)
            let firstID = try #require(created.json["id"]?.stringValue, "\(created.text)")
            #expect(try await ReauthorizationTests.runWhenDue(harness, clock, holdID: firstID) == 1)
            let secondID = try #require(try await harness.store.hold(id: firstID)?.replacedBy)
            var second = try #require(try await harness.store.hold(id: secondID))
            #expect(second.replaces == firstID)

            // With a cap of one reauthorization per original hold, the replacement may not
            // be reauthorized again, even at a proper time.
            let strict = HoldServices(
                store: harness.store, gateway: harness.gateway, minter: harness.minter, policies: harness.policies, clock: clock,
                configuration: .init(recoveryGrace: 0, reauthorization: ReauthorizationLimits(maxPerChain: 1)),
                logger: ServerHarness.quietLogger)
            second.scheduledAction = nil
            #expect(await strict.planner.schedule(second) == nil)
            let refusals = try await harness.store.webhookEvents(holdID: secondID).filter { $0.type == HoldHistoryEntryType.reauthorizationRefused }
            #expect(refusals.count == 1)
            // The default cap (8) allows it.
            #expect(await harness.holds.planner.schedule(second)?.kind == .reauthorize)
        }
    }
}
