import ChittyChargeTestSupport
import Foundation
import StripeAPI
import Testing

@testable import StripeEmulator

@Suite struct RequestValidationTests {
    @Test func unknownParameterIsNamed() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let unknown = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&colour=red")
        #expect(unknown.status == 400)
        #expect(unknown.errorField("code") == "parameter_unknown")
        #expect(unknown.errorField("message") == "Received unknown parameter: colour")
        #expect(unknown.errorField("param") == "colour")

        let nested = await emulator.send(
            "POST", "/v1/payment_intents",
            form: "amount=5000&currency=usd&payment_method_options[card][request_overcapture]=if_available")
        #expect(nested.errorField("message") == "Received unknown parameter: payment_method_options[card][request_overcapture]")
        #expect(await emulator.paymentIntents().isEmpty)
    }

    @Test func missingAndMalformedParameters() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let missing = await emulator.send("POST", "/v1/payment_intents", form: "currency=usd")
        #expect(missing.status == 400)
        #expect(missing.errorField("code") == "parameter_missing")
        #expect(missing.errorField("param") == "amount")

        let notInteger = await emulator.send("POST", "/v1/payment_intents", form: "amount=12.5&currency=usd")
        #expect(notInteger.errorField("param") == "amount")
        #expect(notInteger.errorField("code") == "parameter_invalid_integer")

        let badCurrency = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=dollars")
        #expect(badCurrency.errorField("param") == "currency")

        let badCapture = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=later")
        #expect(badCapture.errorField("param") == "capture_method")

        let badBoolean = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd&payment_method=pm_card_visa&confirm=yes")
        #expect(badBoolean.errorField("message") == "Invalid boolean: yes")
        #expect(await emulator.paymentIntents().isEmpty)
    }

    @Test func metadataLimits() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let fifty = (0..<50).map { "metadata[k\($0)]=v" }.joined(separator: "&")
        #expect(await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&\(fifty)").status == 200)

        let tooMany = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd&\(fifty)&metadata[k50]=v")
        #expect(tooMany.status == 400)
        #expect(tooMany.errorField("param") == "metadata")

        let longKey = String(repeating: "k", count: 41)
        let keyTooLong = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&metadata[\(longKey)]=v")
        #expect(keyTooLong.errorField("param") == "metadata")

        let longValue = String(repeating: "v", count: 501)
        let valueTooLong = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd&metadata[k]=\(longValue)")
        #expect(valueTooLong.errorField("param") == "metadata")

        let limits = await emulator.send(
            "POST", "/v1/payment_intents",
            form: "amount=5000&currency=usd&metadata[\(String(repeating: "k", count: 40))]=\(String(repeating: "v", count: 500))")
        #expect(limits.status == 200)
    }

    @Test func authenticationIsRequired() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let none = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd", apiKey: nil)
        #expect(none.status == 401)
        #expect(none.errorField("type") == "invalid_request_error")

        let live = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd", apiKey: "sk_live_0123456789abcdef")
        #expect(live.status == 401)
        #expect(live.errorField("message")?.hasPrefix("Invalid API Key provided") == true)
        #expect(live.errorField("message")?.contains("0123456789ab") == false)

        let publishable = await emulator.send(
            "POST", "/v1/payment_intents", form: "amount=5000&currency=usd", apiKey: "pk_test_browser")
        #expect(publishable.status == 401)
        #expect(await emulator.paymentIntents().isEmpty)

        let basic = await emulator.handle(StripeHTTPRequest(
            method: "GET", path: "/v1/payment_intents/pi_missing",
            headers: ["authorization": "Basic " + Data("\(testSecretKey):".utf8).base64EncodedString()]))
        #expect(basic.status == 404)
    }

    @Test func browserConfirmsWithPublishableKeyAndClientSecret() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let created = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual")
        let id = try #require(created.string("id"))
        let secret = try #require(created.string("client_secret"))

        let wrongSecret = await emulator.send(
            "POST", "/v1/payment_intents/\(id)/confirm", form: "payment_method=pm_card_visa&client_secret=\(id)_secret_x",
            apiKey: "pk_test_browser")
        #expect(wrongSecret.status == 400)
        #expect(wrongSecret.errorField("param") == "client_secret")

        let confirmed = await emulator.send(
            "POST", "/v1/payment_intents/\(id)/confirm", form: "payment_method=pm_card_visa&client_secret=\(secret)",
            apiKey: "pk_test_browser")
        #expect(confirmed.status == 200)
        #expect(confirmed.string("status") == "requires_capture")
    }

    @Test func unrecognizedURLs() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let unknown = await emulator.send("DELETE", "/v1/payment_intents/pi_x")
        #expect(unknown.status == 404)
        #expect(unknown.errorField("message")?.hasPrefix("Unrecognized request URL (DELETE: /v1/payment_intents/pi_x)") == true)
        #expect(await emulator.send("POST", "/v1/payment_intents/pi_x/refund").status == 404)
    }

    @Test func callLogRecordsWhatWasAsked() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        _ = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", form: "amount_to_capture=1000", idempotencyKey: "cap")
        let calls = await emulator.calls()
        #expect(calls.map(\.path) == ["/v1/payment_intents", "/v1/payment_intents/\(id)/capture"])
        #expect(calls.last?.idempotencyKey == "cap")
        #expect(calls.last?.params == ["amount_to_capture": "1000"])
        #expect(calls.allSatisfy { $0.status == 200 && $0.durationNanoseconds > 0 })
        #expect(await emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/") == 1)
        await emulator.resetCalls()
        #expect(await emulator.calls().isEmpty)
    }
}
