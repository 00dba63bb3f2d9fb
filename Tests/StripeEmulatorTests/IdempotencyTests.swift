import ChittyChargeTestSupport
import Foundation
import StripeAPI
import Testing

@testable import StripeEmulator

@Suite struct IdempotencyTests {
    let createForm = "amount=5000&currency=usd&capture_method=manual&metadata[hold]=h1"

    @Test func sameKeyAndParamsReplaysTheFirstResponse() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let first = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "hold-h1-create")
        // Same parameters in another order are the same request.
        let second = await emulator.send(
            "POST", "/v1/payment_intents", form: "metadata[hold]=h1&capture_method=manual&currency=usd&amount=5000",
            idempotencyKey: "hold-h1-create")
        #expect(first.status == 200)
        #expect(second.status == 200)
        #expect(second.body == first.body)
        #expect(first.headers["idempotent-replayed"] == nil)
        #expect(second.headers["idempotent-replayed"] == "true")
        #expect(second.headers["original-request"] == first.headers["request-id"])
        #expect(second.headers["request-id"] != first.headers["request-id"])
        #expect(await emulator.paymentIntents().count == 1)
        let calls = await emulator.calls(path: "/v1/payment_intents")
        #expect(calls.map(\.replayed) == [false, true])
        #expect(calls.first?.params["metadata[hold]"] == "h1")
    }

    @Test func sameKeyWithOtherParamsIsAnIdempotencyError() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        _ = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "k1")
        let mismatch = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=6000&currency=usd&capture_method=manual&metadata[hold]=h1",
            idempotencyKey: "k1")
        #expect(mismatch.status == 400)
        #expect(mismatch.errorField("type") == "idempotency_error")
        #expect(mismatch.errorField("message")?.contains("same parameters") == true)
        #expect(await emulator.paymentIntents().count == 1)
    }

    @Test func declinesAndStateErrorsAreReplayed() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let form = "amount=5000&currency=usd&capture_method=manual&payment_method=pm_card_chargeDeclined&confirm=true"
        let declined = await emulator.send("POST", "/v1/payment_intents", form: form, idempotencyKey: "decline")
        let replayed = await emulator.send("POST", "/v1/payment_intents", form: form, idempotencyKey: "decline")
        #expect(declined.status == 402)
        #expect(replayed.status == 402)
        #expect(replayed.body == declined.body)
        #expect(replayed.headers["idempotent-replayed"] == "true")
    }

    @Test func validationFailuresAreNotStored() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let invalid = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=10&currency=usd", idempotencyKey: "fix-me")
        #expect(invalid.status == 400)
        #expect(invalid.errorField("code") == "amount_too_small")
        #expect(invalid.errorField("param") == "amount")

        let fixed = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=1000&currency=usd", idempotencyKey: "fix-me")
        #expect(fixed.status == 200)
        #expect(fixed.headers["idempotent-replayed"] == nil)
        #expect(await emulator.paymentIntents().count == 1)
    }

    @Test func injectedFaultsAreNotStoredSoARetryExecutesOnce() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        await emulator.failNextRequests(2, status: 500, matching: "/v1/payment_intents")
        var statuses: [Int] = []
        var last: ResponseJSON?
        for _ in 0..<3 {
            let response = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "retry-me")
            statuses.append(response.status)
            last = response
        }
        #expect(statuses == [500, 500, 200])
        #expect(last?.headers["idempotent-replayed"] == nil)
        let firstFailure = await emulator.calls().first
        #expect(firstFailure?.injectedFault == true)
        #expect(await emulator.paymentIntents().count == 1)

        let replay = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "retry-me")
        #expect(replay.headers["idempotent-replayed"] == "true")
        #expect(await emulator.paymentIntents().count == 1)
    }

    @Test func injectedFaultHasStripesErrorShape() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        await emulator.failNextRequests(1, status: 503)
        let failed = await emulator.send("GET", "/v1/payment_intents/pi_x")
        #expect(failed.status == 503)
        #expect(failed.errorField("type") == "api_error")
        // Faults apply before authentication: a failure in front of Stripe.
        await emulator.failNextRequests(1, status: 429, matching: "/v1/payment_intents/")
        let limited = await emulator.send("POST", "/v1/payment_intents", form: createForm, apiKey: nil)
        #expect(limited.status == 401)
        let limitedLater = await emulator.send("GET", "/v1/payment_intents/pi_x", apiKey: nil)
        #expect(limitedLater.status == 429)
        #expect(limitedLater.errorField("code") == "rate_limit")
    }

    @Test func keysLongerThan255CharactersAreRejected() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let long = await emulator.send(
            "POST", "/v1/payment_intents", form: createForm, idempotencyKey: String(repeating: "k", count: 256))
        #expect(long.status == 400)
        #expect(await emulator.paymentIntents().isEmpty)
        let longest = await emulator.send(
            "POST", "/v1/payment_intents", form: createForm, idempotencyKey: String(repeating: "k", count: 255))
        #expect(longest.status == 200)
    }

    @Test func aKeyReusedOnAnotherEndpointIsAnIdempotencyError() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        _ = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", idempotencyKey: "op-1")
        let cancel = await emulator.send("POST", "/v1/payment_intents/\(id)/cancel", idempotencyKey: "op-1")
        #expect(cancel.status == 400)
        #expect(cancel.errorField("type") == "idempotency_error")
    }

    @Test func storedResultsAreForgottenAfter24Hours() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        _ = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "old")
        clock.advance(by: 24 * 3600 + 1)
        let later = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "old")
        #expect(later.headers["idempotent-replayed"] == nil)
        #expect(await emulator.paymentIntents().count == 2)
    }

    @Test func storeForgetsTheOldestBeyondItsCapacity() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart), idempotencyCapacity: 2)
        for key in ["a", "b", "c"] {
            _ = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: key)
        }
        let newest = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "c")
        #expect(newest.headers["idempotent-replayed"] == "true")
        let oldest = await emulator.send("POST", "/v1/payment_intents", form: createForm, idempotencyKey: "a")
        #expect(oldest.headers["idempotent-replayed"] == nil)
    }

    @Test func unreachableTransportThrowsAndNothingHappens() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let transport = StripeEmulatorTransport(emulator: emulator)
        let request = StripeHTTPRequest(
            method: "POST", path: "/v1/payment_intents",
            headers: ["Authorization": "Bearer \(testSecretKey)", "Idempotency-Key": "net"],
            body: Data(createForm.utf8))
        await emulator.setUnreachable(true)
        await #expect(throws: StripeEmulatorUnreachableError.self) { try await transport.send(request) }
        #expect(await emulator.calls().isEmpty)
        await emulator.setUnreachable(false)
        let response = try await transport.send(request)
        #expect(response.status == 200)
        #expect(await emulator.paymentIntents().count == 1)
    }
}
