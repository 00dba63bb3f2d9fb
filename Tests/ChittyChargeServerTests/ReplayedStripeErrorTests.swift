import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import StripeAPI
import StripeEmulator
import Synchronization
import Testing

/// Stripe stores a 500 under its idempotency key and replays it for 24 h. A capture or
/// cancel answered that way must be reconciled from the PaymentIntent, never left pending
/// (which locked the hold: every other capture or cancel got 409 for a day).
@Suite("Stripe's stored 500s: reconcile from the PaymentIntent, then a new key")
struct ReplayedStripeErrorTests {
    static func capturePath(_ id: String) -> String { "/v1/payment_intents/\(id)/capture" }

    @Test func aStored500ThatDidNothingClosesTheCaptureAndTheNextOneUsesANewKey() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 20_000)
            await harness.emulator.failNextRequests(1, status: 500, matching: Self.capturePath(id), timing: .storedWithKey)
            let failed = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 15_000])
            #expect(failed.status == 502, "\(failed.text)")
            #expect(failed.json["code"] == "stripe_error_not_applied")
            #expect(try await harness.store.pendingOperations().isEmpty)
            let firstAttempts = await harness.stripeCalls("POST", pathSuffix: "/capture")
            #expect(firstAttempts.contains { $0.replayed }, "Stripe replayed its stored 500")
            #expect(Set(firstAttempts.compactMap(\.idempotencyKey)).count == 1)

            let retried = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 15_000])
            #expect(retried.status == 200, "\(retried.text)")
            #expect(retried.json["amount_captured"] == 15_000)
            #expect(retried.json["amount_remaining"] == 5_000)
            let keys = await harness.stripeCalls("POST", pathSuffix: "/capture").compactMap(\.idempotencyKey)
            #expect(Set(keys).count == 2, "the new request used a new idempotency key")
            let intent = try #require(await harness.emulator.paymentIntent(id: id))
            #expect(intent.status == "succeeded")
            #expect(intent.amountReceived == 15_000)
        }
    }

    @Test func aStored500OnACaptureThatDidNothingLeavesTheHoldFreeToCancel() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 20_000)
            await harness.emulator.failNextRequests(1, status: 500, matching: Self.capturePath(id), timing: .storedWithKey)
            #expect(try await harness.api.call(.POST, "/api/holds/\(id)/capture").status == 502)
            let cancel = try await harness.api.call(.POST, "/api/holds/\(id)/cancel")
            #expect(cancel.status == 200, "\(cancel.text)")
            #expect(cancel.json["status"] == "canceled")
            let intent = try #require(await harness.emulator.paymentIntent(id: id))
            #expect(intent.status == "canceled")
            #expect(intent.amountReceived == 0)
        }
    }

    @Test func aStored500AfterStripeCapturedRecordsTheCaptureWithItsRealAmount() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 20_000)
            await harness.emulator.failNextRequests(1, status: 500, matching: Self.capturePath(id), timing: .afterActing)
            let capture = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 12_000])
            #expect(capture.status == 200, "\(capture.text)")
            #expect(capture.json["status"] == "succeeded")
            #expect(capture.json["amount_captured"] == 12_000)
            #expect(capture.json["amount_remaining"] == 8_000)
            #expect(try await harness.store.pendingOperations().isEmpty)
            let hold = try #require(try await harness.store.hold(id: id))
            #expect(hold.status == .succeeded)
            #expect(hold.amountReceived == 12_000)

            // The same capture again is answered from the record; anything else is refused.
            let again = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 12_000])
            #expect(again.status == 200)
            #expect(again.body == capture.body)
            let more = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 20_000])
            #expect(more.status == 409)
            #expect(try await harness.api.call(.POST, "/api/holds/\(id)/cancel").status == 409)
            // Stripe acted once: one key, and the intent captured what was asked, no more.
            #expect(Set(await harness.stripeCalls("POST", pathSuffix: "/capture").compactMap(\.idempotencyKey)).count == 1)
            let intent = try #require(await harness.emulator.paymentIntent(id: id))
            #expect(intent.amountReceived == 12_000)
            #expect(intent.amountReceived <= intent.amount)
        }
    }

    @Test func aStored500OnCancelAfterStripeCanceledRecordsTheRelease() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 9_000)
            await harness.emulator.failNextRequests(1, status: 500, matching: "/v1/payment_intents/\(id)/cancel", timing: .afterActing)
            let cancel = try await harness.api.call(.POST, "/api/holds/\(id)/cancel")
            #expect(cancel.status == 200, "\(cancel.text)")
            #expect(cancel.json["status"] == "canceled")
            #expect(try await harness.store.hold(id: id)?.status == .canceled)
            #expect(try await harness.api.call(.POST, "/api/holds/\(id)/capture").status == 409)
        }
    }

    @Test func aScheduledCaptureThatStripeDidNotDoIsTriedAgainWithANewKey() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(ScheduleTests.options(clock, policy: ScheduleTests.noShowPolicy)) { harness in
            let checkIn = clock.now().addingTimeInterval(3_600).rounded()
            let (id, json) = try await ScheduleTests.capturableHold(harness, metadata: ["no_show_fee": "7500", "check_in": ScheduleTests.iso(checkIn)])
            #expect(json["scheduled_action"]?["action"] == "capture")
            clock.set(checkIn.addingTimeInterval(24 * 3600 + 1))
            await harness.emulator.failNextRequests(1, status: 500, matching: Self.capturePath(id), timing: .storedWithKey)
            #expect(await harness.holds.scheduler.runDue() == 0, "not finished: to be tried again")
            #expect(try await harness.store.hold(id: id)?.scheduledAction?.state == .running)
            #expect(await harness.holds.scheduler.runDue() == 1)
            let hold = try #require(try await harness.store.hold(id: id))
            #expect(hold.status == .succeeded)
            #expect(hold.amountReceived == 7_500)
            #expect(Set(await harness.stripeCalls("POST", pathSuffix: "/capture").compactMap(\.idempotencyKey)).count == 2)
        }
    }

    /// The 500 is seen only by the recovery pass (every in-request answer was lost): its
    /// replay is reconciled there, both ways.
    @Test(arguments: [StripeEmulator.FaultTiming.afterActing, .storedWithKey])
    func theRecoveryPassReconcilesAReplayed500(timing: StripeEmulator.FaultTiming) async throws {
        let losing = LockedBox<ResponseLosingTransport?>(nil)
        var options = ServerHarness.Options()
        options.wrapTransport = { base in
            let transport = ResponseLosingTransport(base: base, losing: 0)
            losing.set(transport)
            return transport
        }
        try await ServerHarness.run(options) { harness in
            let id = try await harness.authorisedHold(amount: 20_000)
            await harness.emulator.failNextRequests(1, status: 500, matching: Self.capturePath(id), timing: timing)
            losing.get()?.setLosing(3)
            let lost = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(lost.status == 502)
            #expect(lost.json["code"] == "stripe_unavailable")
            #expect(try await harness.store.pendingOperations().count == 1)

            let recovery = await harness.holds.recovery.recoverPendingOperations(grace: 0)
            #expect(recovery.resolved == 1)
            #expect(recovery.stillPending == 0)
            #expect(try await harness.store.pendingOperations().isEmpty)
            let hold = try #require(try await harness.store.hold(id: id))
            if timing == .afterActing {
                #expect(hold.status == .succeeded)
                #expect(hold.amountReceived == 20_000)
                let retry = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
                #expect(retry.status == 200)
                #expect(retry.json["amount_captured"] == 20_000)
                #expect(try await harness.api.call(.POST, "/api/holds/\(id)/cancel").status == 409)
            } else {
                #expect(hold.status == .requiresCapture)
                let cancel = try await harness.api.call(.POST, "/api/holds/\(id)/cancel")
                #expect(cancel.status == 200, "\(cancel.text)")
            }
            #expect(await harness.emulator.paymentIntent(id: id)?.amountReceived ?? 0 <= 20_000)
        }
    }
}

/// A value shared between a test and a closure it hands out.
final class LockedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}
