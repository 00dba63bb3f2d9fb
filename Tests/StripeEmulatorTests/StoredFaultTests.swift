import ChittyChargeTestSupport
import Foundation
import StripeAPI
import Testing

@testable import StripeEmulator

/// Stripe stores a 500 under its idempotency key and replays it; the emulator's injected
/// faults model that, with Stripe having acted first or not.
@Suite struct StoredFaultTests {
    @Test func aFaultInFrontOfStripeIsNotStored() async {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let hold = await emulator.placeHold()
        let id = try! #require(hold.string("id"))
        await emulator.failNextRequests(1, matching: "/v1/payment_intents/\(id)/capture")
        #expect(await emulator.send("POST", "/v1/payment_intents/\(id)/capture", idempotencyKey: "c1").status == 500)
        let retry = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", idempotencyKey: "c1")
        #expect(retry.status == 200)
        #expect(retry.string("status") == "succeeded")
    }

    @Test func aStoredFaultIsReplayedForItsKeyAndNothingHappened() async {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let hold = await emulator.placeHold()
        let id = try! #require(hold.string("id"))
        await emulator.failNextRequests(1, matching: "/v1/payment_intents/\(id)/capture", timing: .storedWithKey)
        let first = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", idempotencyKey: "c1")
        let replay = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", idempotencyKey: "c1")
        #expect(first.status == 500)
        #expect(first.headers["idempotent-replayed"] == nil)
        #expect(replay.status == 500)
        #expect(replay.headers["idempotent-replayed"] == "true")
        #expect(replay.body == first.body)
        #expect(await emulator.paymentIntent(id: id)?.status == "requires_capture")
        // A new key is a new request.
        #expect(await emulator.send("POST", "/v1/payment_intents/\(id)/capture", idempotencyKey: "c2").status == 200)
        #expect(await emulator.calls(path: "/v1/payment_intents/\(id)/capture").map(\.injectedFault) == [true, false, false])
    }

    @Test func aFaultAfterActingCapturedButAnswers500ForItsKey() async {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let hold = await emulator.placeHold(amount: 8_000)
        let id = try! #require(hold.string("id"))
        await emulator.failNextRequests(1, matching: "/v1/payment_intents/\(id)/capture", timing: .afterActing)
        let first = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", form: "amount_to_capture=6000", idempotencyKey: "c1")
        #expect(first.status == 500)
        let intent = await emulator.paymentIntent(id: id)
        #expect(intent?.status == "succeeded")
        #expect(intent?.amountReceived == 6_000)
        #expect(await emulator.events().contains { $0.type == "payment_intent.succeeded" })
        let replay = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", form: "amount_to_capture=6000", idempotencyKey: "c1")
        #expect(replay.status == 500)
        #expect(replay.headers["idempotent-replayed"] == "true")
    }

    @Test func createsRecordTheirPaymentMethodTypes() async {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let created = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual&payment_method_types[0]=card")
        #expect(created.status == 200)
        #expect((created["payment_method_types"] as? [String]) == ["card"])
        let refused = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual&payment_method_types[0]=sepa_debit")
        #expect(refused.status == 400)
        #expect(refused.errorField("param") == "payment_method_types")
    }
}
