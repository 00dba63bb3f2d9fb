import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import Testing

/// Two schedulers over one store (two processes): a claimed action is its claimer's while
/// the lease lasts, and anyone's once it has run out (the claimer crashed).
@Suite("Scheduled action leases, with a clock the test moves")
struct ScheduleLeaseTests {
    /// A capturable hold whose release (48 h after check-out) is due now.
    static func dueRelease(_ harness: ServerHarness, _ clock: ManualWallClock) async throws -> String {
        let checkOut = clock.now().rounded()
        let (id, _) = try await ScheduleTests.capturableHold(harness, metadata: ["check_out": ScheduleTests.iso(checkOut)])
        clock.set(checkOut.addingTimeInterval(48 * 3600 + 1))
        return id
    }

    static func scheduler(_ harness: ServerHarness, _ clock: ManualWallClock, id: String, gateway: any PaymentGateway) -> HoldServices {
        HoldServices(store: harness.store, gateway: gateway, minter: harness.minter, policies: harness.policies, clock: clock,
                    configuration: .init(recoveryGrace: 0, schedulerID: id), logger: ServerHarness.quietLogger)
    }

    static func releaseEntries(_ harness: ServerHarness, _ id: String) async throws -> Int {
        try await harness.store.webhookEvents(holdID: id).filter { $0.type == HoldHistoryEntryType.scheduledRelease }.count
    }

    @Test func aSchedulerLeavesAnActionAnotherIsRunning() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(ScheduleTests.options(clock)) { harness in
            let id = try await Self.dueRelease(harness, clock)
            let held = HeldCancelGateway(harness.gateway)
            let runnerA = Self.scheduler(harness, clock, id: "runner-a", gateway: held)
            let runnerB = Self.scheduler(harness, clock, id: "runner-b", gateway: harness.gateway)
            let a = Task { await runnerA.scheduler.runDue() }
            await held.cancelArrived.wait()
            // A has claimed the action and is inside its Stripe call; B looks at it.
            let claimed = try await harness.store.hold(id: id)?.scheduledAction
            #expect(claimed?.state == .running)
            #expect(claimed?.lease?.owner == "runner-a")
            #expect(await runnerB.scheduler.runDue() == 0)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").isEmpty)

            held.release.open()
            #expect(await a.value == 1)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").count == 1)
            #expect(try await Self.releaseEntries(harness, id) == 1)
            #expect(try await harness.store.hold(id: id)?.status == .canceled)
            #expect(try await harness.store.hold(id: id)?.scheduledAction == nil)
        }
    }

    @Test func anActionWhoseLeaseRanOutIsTakenOver() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(ScheduleTests.options(clock)) { harness in
            let id = try await Self.dueRelease(harness, clock)
            let action = try #require(try await harness.store.hold(id: id)?.scheduledAction)
            // A scheduler claimed it and died before calling Stripe.
            let lease = ScheduledAction.Lease(owner: "crashed", until: clock.now().addingTimeInterval(300))
            #expect(try await harness.store.claimScheduledAction(action, holdID: id, lease: lease, at: clock.now()))
            let survivor = Self.scheduler(harness, clock, id: "survivor", gateway: harness.gateway)
            #expect(await survivor.scheduler.runDue() == 0)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").isEmpty)

            clock.advance(by: 300)
            #expect(await survivor.scheduler.runDue() == 1)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").count == 1)
            #expect(try await Self.releaseEntries(harness, id) == 1)
            #expect(try await harness.store.hold(id: id)?.status == .canceled)
            #expect(await survivor.scheduler.runDue() == 0)
        }
    }
}
