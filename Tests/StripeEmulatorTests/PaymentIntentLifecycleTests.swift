import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import StripeAPI
import Testing

@testable import StripeEmulator

@Suite struct PaymentIntentLifecycleTests {
    @Test func createWithoutPaymentMethodRequiresOne() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let created = await emulator.send(
            "POST", "/v1/payment_intents",
            form: "amount=2500&currency=USD&capture_method=manual&description=Deposit&metadata[property_id]=p1")
        #expect(created.status == 200)
        #expect(created.string("status") == "requires_payment_method")
        #expect(created.string("currency") == "usd")
        #expect(created.string("object") == "payment_intent")
        let id = try #require(created.string("id"))
        #expect(id.hasPrefix("pi_") && id.count == 27)
        #expect(created.string("client_secret")?.hasPrefix("\(id)_secret_") == true)
        #expect((created["metadata"] as? [String: String]) == ["property_id": "p1"])
        #expect(created["latest_charge"] is NSNull)
        #expect(created.headers["request-id"]?.hasPrefix("req_") == true)

        let withMethod = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=2500&currency=usd&payment_method=pm_card_visa")
        #expect(withMethod.string("status") == "requires_confirmation")
        #expect(withMethod.string("capture_method") == "automatic")
    }

    @Test func confirmedVisaHoldRequiresCaptureForSevenDays() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        let created = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual")
        let id = try #require(created.string("id"))

        let confirmed = await emulator.send(
            "POST", "/v1/payment_intents/\(id)/confirm", form: "payment_method=pm_card_visa&expand[]=latest_charge")
        #expect(confirmed.status == 200)
        #expect(confirmed.string("status") == "requires_capture")
        #expect(confirmed.int("amount_capturable") == 5000)
        #expect(confirmed.int("amount_received") == 0)
        let charge = try #require(confirmed["latest_charge"] as? [String: Any])
        #expect((charge["id"] as? String)?.hasPrefix("ch_") == true)
        #expect(charge["captured"] as? Bool == false)
        let details = try #require((charge["payment_method_details"] as? [String: Any])?["card"] as? [String: Any])
        let captureBefore = try #require((details["capture_before"] as? NSNumber)?.intValue)
        #expect(captureBefore == Int(clock.now().timeIntervalSince1970) + 7 * 86_400)

        // Without expand, latest_charge is the id.
        let retrieved = await emulator.send("GET", "/v1/payment_intents/\(id)")
        #expect(retrieved.string("latest_charge") == charge["id"] as? String)
        let expanded = await emulator.send("GET", "/v1/payment_intents/\(id)?expand[0]=latest_charge")
        #expect((expanded["latest_charge"] as? [String: Any])?["id"] as? String == charge["id"] as? String)
    }

    @Test func offSessionVisaHoldLastsFourDaysEighteenHours() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        let hold = await emulator.placeHold(extra: "&off_session=true&customer=cus_123")
        #expect(hold.string("status") == "requires_capture")
        let chargeID = try #require(hold.string("latest_charge"))
        let charge = try #require(await emulator.charge(id: chargeID))
        #expect(charge.captureBefore == clock.now().addingTimeInterval(4 * 86_400 + 18 * 3_600))
    }

    @Test func automaticCaptureSucceedsAtOnce() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let paid = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=900&currency=usd&payment_method=pm_card_mastercard&confirm=true")
        #expect(paid.string("status") == "succeeded")
        #expect(paid.int("amount_received") == 900)
        #expect(paid.int("amount_capturable") == 0)
    }

    @Test func partialCaptureReleasesTheRest() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold(amount: 10_000).string("id"))

        let captured = await emulator.send(
            "POST", "/v1/payment_intents/\(id)/capture", form: "amount_to_capture=7550&expand[]=latest_charge")
        #expect(captured.status == 200)
        #expect(captured.string("status") == "succeeded")
        #expect(captured.int("amount_received") == 7550)
        #expect(captured.int("amount_capturable") == 0)
        let charge = try #require(captured["latest_charge"] as? [String: Any])
        #expect((charge["amount_captured"] as? NSNumber)?.intValue == 7550)
        #expect((charge["amount_refunded"] as? NSNumber)?.intValue == 2450)
        #expect(charge["captured"] as? Bool == true)
    }

    @Test func capturingTwiceIsUnexpectedState() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        #expect(await emulator.send("POST", "/v1/payment_intents/\(id)/capture").status == 200)

        let again = await emulator.send("POST", "/v1/payment_intents/\(id)/capture")
        #expect(again.status == 400)
        #expect(again.errorField("type") == "invalid_request_error")
        #expect(again.errorField("code") == "payment_intent_unexpected_state")
        #expect(again.errorField("message")?.contains("already been captured") == true)
        #expect((again.error["payment_intent"] as? [String: Any])?["status"] as? String == "succeeded")
    }

    @Test func capturingMoreThanCapturableIsAmountTooLarge() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold(amount: 5_000).string("id"))
        let tooMuch = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", form: "amount_to_capture=5001")
        #expect(tooMuch.status == 400)
        #expect(tooMuch.errorField("code") == "amount_too_large")
        #expect(tooMuch.errorField("param") == "amount_to_capture")
        #expect(await emulator.paymentIntent(id: id)?.status == "requires_capture")
    }

    @Test func cancelingAHoldReleasesIt() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        let id = try #require(await emulator.placeHold().string("id"))
        let canceled = await emulator.send(
            "POST", "/v1/payment_intents/\(id)/cancel", form: "cancellation_reason=requested_by_customer")
        #expect(canceled.status == 200)
        #expect(canceled.string("status") == "canceled")
        #expect(canceled.string("cancellation_reason") == "requested_by_customer")
        #expect(canceled.int("canceled_at") == Int(clock.now().timeIntervalSince1970))
        #expect(canceled.int("amount_capturable") == 0)
        let intent = try #require(await emulator.paymentIntent(id: id))
        let chargeID = try #require(intent.latestChargeID)
        let charge = try #require(await emulator.charge(id: chargeID))
        #expect(charge.refunded && charge.amountRefunded == 5_000)
    }

    @Test func cancelingACanceledOrSucceededIntentFails() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let canceledID = try #require(await emulator.placeHold().string("id"))
        #expect(await emulator.send("POST", "/v1/payment_intents/\(canceledID)/cancel").status == 200)
        let twice = await emulator.send("POST", "/v1/payment_intents/\(canceledID)/cancel")
        #expect(twice.status == 400)
        #expect(twice.errorField("code") == "payment_intent_unexpected_state")
        #expect(twice.errorField("message")?.contains("status of canceled") == true)

        let succeededID = try #require(await emulator.placeHold().string("id"))
        #expect(await emulator.send("POST", "/v1/payment_intents/\(succeededID)/capture").status == 200)
        let afterCapture = await emulator.send("POST", "/v1/payment_intents/\(succeededID)/cancel")
        #expect(afterCapture.status == 400)
        #expect(afterCapture.errorField("code") == "payment_intent_unexpected_state")
        #expect(afterCapture.errorField("message")?.contains("status of succeeded") == true)
    }

    @Test func capturingACanceledIntentFails() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        #expect(await emulator.send("POST", "/v1/payment_intents/\(id)/cancel").status == 200)
        let capture = await emulator.send("POST", "/v1/payment_intents/\(id)/capture")
        #expect(capture.status == 400)
        #expect(capture.errorField("code") == "payment_intent_unexpected_state")
        #expect(capture.errorField("message")?.contains("status of canceled") == true)
    }

    @Test func cancellationReasonMustBeKnown() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        let bad = await emulator.send("POST", "/v1/payment_intents/\(id)/cancel", form: "cancellation_reason=bored")
        #expect(bad.status == 400)
        #expect(bad.errorField("param") == "cancellation_reason")
        #expect(await emulator.paymentIntent(id: id)?.status == "requires_capture")
    }

    @Test(arguments: [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ])
    func declinedCardIsA402AndTheIntentWantsAnotherMethod(paymentMethod: String, declineCode: String) async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let declined = await emulator.placeHold(paymentMethod: paymentMethod)
        #expect(declined.status == 402)
        #expect(declined.errorField("type") == "card_error")
        #expect(declined.errorField("code") == "card_declined")
        #expect(declined.errorField("decline_code") == declineCode)
        let intentJSON = try #require(declined.error["payment_intent"] as? [String: Any])
        #expect(intentJSON["status"] as? String == "requires_payment_method")
        let lastError = try #require(intentJSON["last_payment_error"] as? [String: Any])
        #expect(lastError["decline_code"] as? String == declineCode)

        // The customer tries another card on the same intent.
        let id = try #require(intentJSON["id"] as? String)
        let retried = await emulator.confirm(id: id, paymentMethod: "pm_card_visa")
        let intent = try retried.get()
        #expect(intent.status == "requires_capture")
        #expect(intent.lastPaymentError == nil)
    }

    @Test func authenticationRequiredNeedsActionOnSessionAndDeclinesOffSession() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let onSession = await emulator.placeHold(paymentMethod: "pm_card_authenticationRequired")
        #expect(onSession.status == 200)
        #expect(onSession.string("status") == "requires_action")
        let id = try #require(onSession.string("id"))
        // The customer completes the challenge: confirming again authorizes the hold.
        let completed = await emulator.send("POST", "/v1/payment_intents/\(id)/confirm")
        #expect(completed.string("status") == "requires_capture")

        let offSession = await emulator.placeHold(
            paymentMethod: "pm_card_authenticationRequired", extra: "&off_session=true")
        #expect(offSession.status == 402)
        #expect(offSession.errorField("code") == "authentication_required")
        #expect((offSession.error["payment_intent"] as? [String: Any])?["status"] as? String == "requires_payment_method")
    }

    @Test func confirmingFromAFinalStateFails() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        let again = await emulator.send("POST", "/v1/payment_intents/\(id)/confirm", form: "payment_method=pm_card_visa")
        #expect(again.status == 400)
        #expect(again.errorField("code") == "payment_intent_unexpected_state")
        let unknownMethod = await emulator.placeHold(paymentMethod: "pm_card_doesNotExist")
        #expect(unknownMethod.status == 400)
        #expect(unknownMethod.errorField("code") == "resource_missing")
        #expect(unknownMethod.errorField("param") == "payment_method")
    }

    @Test func unknownIntentIsResourceMissing() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let missing = await emulator.send("GET", "/v1/payment_intents/pi_nope")
        #expect(missing.status == 404)
        #expect(missing.errorField("code") == "resource_missing")
        #expect(missing.errorField("message") == "No such payment_intent: 'pi_nope'")
        #expect(missing.errorField("param") == "intent")
    }

    @Test func holdExpiresWhenTheClockPassesCaptureBefore() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        let id = try #require(await emulator.placeHold().string("id"))
        let expiring = try #require(await emulator.placeHold().string("id"))

        clock.advance(by: 7 * 86_400 - 1)
        #expect(await emulator.send("GET", "/v1/payment_intents/\(id)").string("status") == "requires_capture")

        clock.advance(by: 2)
        let expired = await emulator.send("GET", "/v1/payment_intents/\(id)")
        #expect(expired.string("status") == "canceled")
        #expect(expired.string("cancellation_reason") == "automatic")
        #expect(expired.int("amount_capturable") == 0)

        let capture = await emulator.send("POST", "/v1/payment_intents/\(expiring)/capture")
        #expect(capture.status == 400)
        #expect(capture.errorField("code") == "charge_expired_for_capture")
        #expect(await emulator.events().contains { $0.type == "charge.expired" })
    }

    @Test func stateChangesAreRecordedAsEvents() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        _ = await emulator.send("POST", "/v1/payment_intents/\(id)/capture")
        let types = await emulator.events().map(\.type)
        #expect(types == [
            "payment_intent.created", "charge.succeeded", "payment_intent.amount_capturable_updated",
            "charge.captured", "payment_intent.succeeded",
        ])
        let last = try #require(await emulator.events().last)
        #expect(last.object["status"] == "succeeded")
        #expect(last.json["type"] == "payment_intent.succeeded")
    }
}
