import ChittyCharge
import Foundation
import JSON
import StripeAPI
import StripeEmulator
import Synchronization
import Testing

/// Loses Stripe's responses after Stripe acted: the worst network failure, where only the
/// idempotency key stands between a retry and a second hold.
final class ResponseLosingTransport: StripeTransport {
    let base: any StripeTransport
    let remaining: Mutex<Int>

    init(base: any StripeTransport, losing count: Int) {
        self.base = base
        remaining = Mutex(count)
    }

    struct LostResponse: Error {}

    func setLosing(_ count: Int) { remaining.withLock { $0 = count } }

    func send(_ request: StripeHTTPRequest) async throws -> StripeHTTPResponse {
        let response = try await base.send(request)
        let lose = remaining.withLock { count -> Bool in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
        if lose { throw LostResponse() }
        return response
    }
}

/// A fault switch a test flips: throwing at the named step simulates a crash there.
final class FaultSwitch: Sendable {
    let armed = Mutex<String?>(nil)
    func arm(_ step: String?) { armed.withLock { $0 = step } }
    func check(_ step: String) throws {
        if armed.withLock({ $0 == step }) { throw HarnessError("injected crash at \(step)") }
    }
}

@Suite("Money safety end to end")
struct MoneySafetyTests {
    @Test func stripe500TwiceThenSuccessUsesOneKeyAndOneIntent() async throws {
        try await ServerHarness.run { harness in
            await harness.emulator.failNextRequests(2, status: 500, matching: "/v1/payment_intents")
            let reply = try await harness.api.createHold(["amount": 5_000, "description": "Deposit"])
            #expect(reply.status == 201, "\(reply.text)")
            let creates = await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents")
            #expect(creates.count == 3)
            #expect(Set(creates.compactMap(\.idempotencyKey)).count == 1)
            #expect(creates.filter(\.injectedFault).count == 2)
            #expect(await harness.emulator.paymentIntents().count == 1)
        }
    }

    @Test func stripeDownGives502AndAClientRetryMakesExactlyOneIntent() async throws {
        let losing = Mutex<ResponseLosingTransport?>(nil)
        var options = ServerHarness.Options()
        options.wrapTransport = { base in
            let transport = ResponseLosingTransport(base: base, losing: 3)
            losing.withLock { $0 = transport }
            return transport
        }
        try await ServerHarness.run(options) { harness in
            let body: [String: JSONValue] = ["amount": 5_000, "description": "Deposit"]
            let failed = try await harness.api.createHold(body, headers: ["Idempotency-Key": "retry-me"])
            #expect(failed.status == 502, "\(failed.text)")
            #expect(failed.json["code"] == "stripe_unavailable")
            // Stripe did act on every attempt; our key made the later ones replays.
            #expect(await harness.emulator.paymentIntents().count == 1)
            let retried = try await harness.api.createHold(body, headers: ["Idempotency-Key": "retry-me"])
            #expect(retried.status == 201, "\(retried.text)")
            #expect(await harness.emulator.paymentIntents().count == 1)
            #expect(retried.json["id"]?.stringValue == (await harness.emulator.paymentIntents().first?.id))
            let keys = Set(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").compactMap(\.idempotencyKey))
            #expect(keys.count == 1)
        }
    }

    @Test func cardDeclinedIs402WithTheDeclineCodeAndReplaysWithoutStripe() async throws {
        try await ServerHarness.run { harness in
            let body: [String: JSONValue] = [
                "amount": 5_000, "description": "Deposit", "customer": "cus_guest", "payment_method": "pm_card_chargeDeclined",
            ]
            let declined = try await harness.api.createHold(body, headers: ["Idempotency-Key": "declined-1"])
            #expect(declined.status == 402, "\(declined.text)")
            #expect(declined.json["code"] == "card_declined")
            #expect(declined.json["details"]?["decline_code"] == "generic_decline")
            let callsBefore = await harness.emulator.calls().count
            let replay = try await harness.api.createHold(body, headers: ["Idempotency-Key": "declined-1"])
            #expect(replay.status == 402)
            #expect(replay.body == declined.body)
            #expect(await harness.emulator.calls().count == callsBefore)
        }
    }

    @Test func savedCardHoldIsPlacedServerSide() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.createHold([
                "amount": 5_000, "description": "Deposit", "customer": "cus_guest", "payment_method": "pm_card_visa",
            ])
            #expect(reply.status == 201, "\(reply.text)")
            #expect(reply.json["status"] == "requires_capture")
            #expect(reply.json["amount_capturable"] == 5_000)
            #expect(reply.json["capture_before"]?.stringValue != nil)
            let create = try #require(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").first)
            #expect(create.params["confirm"] == "true")
            #expect(create.params["off_session"] == "true")
        }
    }

    @Test func chittyIDDownStillPlacesTheHoldAndTheOutboxMintsItLater() async throws {
        try await ServerHarness.run { harness in
            harness.minter.setFailing(true)
            let reply = try await harness.api.createHold(["amount": 5_000, "description": "Deposit"])
            #expect(reply.status == 201, "\(reply.text)")
            #expect(reply.json["chitty_id"] == .null)
            #expect(reply.json["chitty_id_status"] == "pending")
            let id = try #require(reply.json["id"]?.stringValue)
            #expect(try await harness.store.operationalGauges(at: Date(), overdueAfter: 60, expiryMargin: 0).chittyIDOutboxDepth == 1)
            // Still down: the job is rescheduled, never given a made-up id.
            #expect(await harness.holds.chittyIDOutbox.processDueJobs() == 0)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["chitty_id"] == .null)
            harness.minter.setFailing(false)
            // The retry waits for its backoff; run the job as the worker would once due.
            #expect(await harness.holds.chittyIDOutbox.mint(holdID: id))
            let later = try await harness.api.call(.GET, "/api/holds/\(id)")
            let chittyID = try #require(later.json["chitty_id"]?.stringValue)
            #expect(chittyID.hasPrefix("CHITTY-AUTH-EMU-"))
            #expect(later.json["chitty_id_status"] == "minted")
            #expect(try await harness.store.operationalGauges(at: Date(), overdueAfter: 60, expiryMargin: 0).chittyIDOutboxDepth == 0)
            #expect(harness.minter.mintedHoldIDs == [id])
        }
    }

    @Test func twentyConcurrentCapturesMakeOneStripeCapture() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 30_000)
            let replies = try await withThrowingTaskGroup(of: APIClient.Reply.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 30_000]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.count == 20)
            #expect(replies.allSatisfy { $0.status == 200 }, "\(replies.map(\.status))")
            #expect(Set(replies.map(\.body)).count == 1)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").count == 1)
            #expect(await harness.emulator.paymentIntent(id: id)?.amountReceived == 30_000)
        }
    }

    @Test func concurrentCaptureAndCancelLeaveExactlyOneWinner() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold()
            async let capture = harness.api.call(.POST, "/api/holds/\(id)/capture")
            async let cancel = harness.api.call(.POST, "/api/holds/\(id)/cancel")
            let statuses = try await [capture.status, cancel.status].sorted()
            #expect(statuses == [200, 409])
            let stripeActions = await harness.stripeCalls("POST", pathSuffix: "/capture").count + harness.stripeCalls("POST", pathSuffix: "/cancel").count
            #expect(stripeActions == 1)
        }
    }

    @Test func captureAboveTheAuthorisedAmountIsRefusedBeforeStripe() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 10_000)
            let reply = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 10_001])
            #expect(reply.status == 400)
            #expect(reply.json["code"] == "amount_exceeds_authorized")
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").isEmpty)
        }
    }

    @Test func crashAfterStripeCaptureIsFinishedOnRestart() async throws {
        let faults = FaultSwitch()
        var options = ServerHarness.Options()
        options.faultPoint = { try faults.check($0) }
        try await ServerHarness.run(options) { harness in
            let id = try await harness.authorisedHold(amount: 12_000)
            faults.arm("capture.after_stripe")
            let crashed = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(crashed.status == 500)
            #expect(await harness.emulator.paymentIntent(id: id)?.status == "succeeded")
            #expect(try await harness.store.hold(id: id)?.status != .succeeded, "the store must not know about the capture yet")
            #expect(try await harness.store.pendingOperations().count == 1)

            // "Restart": a new service over the same store and Stripe finishes the capture.
            faults.arm(nil)
            let restarted = HoldServices(store: harness.store, gateway: harness.gateway, minter: harness.minter, policies: harness.policies,
                                        configuration: .init(recoveryGrace: 0), logger: ServerHarness.quietLogger)
            let recovery = await restarted.recovery.recoverPendingOperations(grace: 0)
            #expect(recovery.resolved == 1)
            let hold = try #require(try await harness.store.hold(id: id))
            #expect(hold.status == .succeeded)
            #expect(hold.amountReceived == 12_000)
            #expect(try await harness.store.pendingOperations().isEmpty)
            let captures = await harness.stripeCalls("POST", pathSuffix: "/capture")
            #expect(captures.count == 2)
            #expect(captures.last?.replayed == true)
            #expect(Set(captures.compactMap(\.idempotencyKey)).count == 1)
            // The client's retry now gets the recorded result.
            let retry = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(retry.status == 200)
            #expect(retry.json["amount_captured"] == 12_000)
        }
    }

    @Test func crashAfterStripeCreateIsFinishedOnRestartAndTheClientRetryGetsTheHold() async throws {
        let faults = FaultSwitch()
        var options = ServerHarness.Options()
        options.faultPoint = { try faults.check($0) }
        try await ServerHarness.run(options) { harness in
            faults.arm("create.after_stripe")
            let body: [String: JSONValue] = ["amount": 4_000, "description": "Deposit"]
            let crashed = try await harness.api.createHold(body, headers: ["Idempotency-Key": "crash-create"])
            #expect(crashed.status == 500)
            #expect(await harness.emulator.paymentIntents().count == 1)
            #expect(try await harness.store.pendingCreates().count == 1)
            faults.arm(nil)
            let restarted = HoldServices(store: harness.store, gateway: harness.gateway, minter: harness.minter, policies: harness.policies,
                                        configuration: .init(recoveryGrace: 0), logger: ServerHarness.quietLogger)
            #expect(await restarted.recovery.recoverPendingOperations(grace: 0).resolved == 1)
            #expect(try await harness.store.pendingCreates().isEmpty)
            let intentID = try #require(await harness.emulator.paymentIntents().first?.id)
            #expect(try await harness.store.hold(id: intentID) != nil)
            let retry = try await harness.api.createHold(body, headers: ["Idempotency-Key": "crash-create"])
            #expect(retry.status == 201)
            #expect(retry.json["id"]?.stringValue == intentID)
            #expect(await harness.emulator.paymentIntents().count == 1)
        }
    }
}
