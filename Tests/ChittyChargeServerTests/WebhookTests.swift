import ChittyCharge
import Foundation
import StripeAPI
import StripeEmulator
import Testing

@Suite("Stripe webhooks end to end (signed by the emulator or by hand)")
struct WebhookTests {
    static func eventIDs(_ harness: ServerHarness, holdID: String, type: String) async -> [String] {
        await harness.emulator.events().filter { $0.type == type && $0.object["id"] == .string(holdID) }.map(\.id)
    }

    @Test func authorisationArrivesByWebhookWithoutARefresh() async throws {
        var options = ServerHarness.Options()
        options.webhooks = true
        try await ServerHarness.run(options) { harness in
            let created = try await harness.api.createHold(["amount": 12_000, "description": "Deposit"])
            let id = try #require(created.json["id"]?.stringValue)
            #expect(try await harness.authorise(id).status == 200)
            #expect(await harness.emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            let hold = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(hold.json["status"] == "requires_capture", "\(hold.text)")
            #expect(hold.json["amount_capturable"] == 12_000)
            #expect(hold.json["capture_before"]?.stringValue != nil)
            let events = try await harness.api.call(.GET, "/api/holds/\(id)/events")
            guard case .array(let items)? = events.json["data"] else {
                Issue.record("no events: \(events.text)")
                return
            }
            #expect(items.contains { $0["type"] == "payment_intent.amount_capturable_updated" && $0["outcome"] == "applied" })
            // A capture's own webhooks find the hold already final: recorded, not applied again.
            let capture = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(capture.status == 200)
            #expect(await harness.emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["status"] == "succeeded")
        }
    }

    @Test func aDuplicateDeliveryIsAcknowledgedAndAppliedOnce() async throws {
        var options = ServerHarness.Options()
        options.webhooks = true
        try await ServerHarness.run(options) { harness in
            let id = try await harness.authorisedHold()
            #expect(await harness.emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            let eventID = try #require(await Self.eventIDs(harness, holdID: id, type: "payment_intent.amount_capturable_updated").first)
            #expect(await harness.emulator.redeliver(eventID: eventID))
            #expect(await harness.emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            let deliveries = await harness.emulator.webhookDeliveries(eventID: eventID)
            #expect(deliveries.count == 2)
            #expect(deliveries.allSatisfy { $0.delivered })
            let stored = try await harness.store.webhookEvents(holdID: id).filter { $0.id == eventID }
            #expect(stored.count == 1)
            #expect(stored.first?.outcome == .applied)
        }
    }

    @Test func anOlderEventNeverMovesAHoldBackwards() async throws {
        var options = ServerHarness.Options()
        options.webhooks = true
        options.automaticWebhooks = false
        try await ServerHarness.run(options) { harness in
            let id = try await harness.authorisedHold()
            #expect(try await harness.api.call(.POST, "/api/holds/\(id)/cancel").status == 200)
            let capturable = try #require(await Self.eventIDs(harness, holdID: id, type: "payment_intent.amount_capturable_updated").first)
            let canceled = try #require(await Self.eventIDs(harness, holdID: id, type: "payment_intent.canceled").first)
            // Canceled arrives first, then the older "hold in place".
            let deliveries = await harness.emulator.deliverEvents([canceled, capturable])
            #expect(deliveries.count == 2)
            #expect(deliveries.allSatisfy { $0.delivered })
            let hold = try #require(try await harness.store.hold(id: id))
            #expect(hold.status == .canceled)
            let outcomes = Dictionary(uniqueKeysWithValues: try await harness.store.webhookEvents(holdID: id).map { ($0.id, $0.outcome) })
            #expect(outcomes[capturable] == .recorded)
        }
    }

    @Test func anOlderForwardEventFillsAMissedStepButAnOlderBackwardOneDoesNot() {
        let base = Hold(id: "pi_1", status: .requiresPaymentMethod, amount: 5_000, currency: "usd", description: "d", client: "c",
                        tier: "T", tierLimit: 1, policyRevision: "r", createOperationKey: "k",
                        createdAt: Date(timeIntervalSince1970: 1_000), updatedAt: Date(timeIntervalSince1970: 1_000),
                        stripeStateAt: Date(timeIntervalSince1970: 2_000))
        func event(_ status: PaymentIntentStatus, at seconds: TimeInterval, capturable: Int = 0) -> StripeEvent {
            StripeEvent(id: "evt", type: "payment_intent.x", created: Date(timeIntervalSince1970: seconds), payload: Data(),
                        paymentIntentID: "pi_1", paymentIntent: PaymentIntent(id: "pi_1", status: status, amountCapturable: capturable))
        }
        let now = Date(timeIntervalSince1970: 3_000)
        func status(_ judgement: Hold.EventJudgement) -> PaymentIntentStatus? {
            if case .apply(let hold) = judgement { hold.status } else { nil }
        }
        // Older but forward: a step we missed.
        #expect(status(base.judge(event(.requiresCapture, at: 1_500, capturable: 5_000), receivedAt: now)) == .requiresCapture)
        var authorised = base
        authorised.status = .requiresCapture
        authorised.amountCapturable = 5_000
        authorised.captureBefore = Date(timeIntervalSince1970: 600_000)
        // Older and backward: stale. Newer and backward (a failed retry): applied.
        #expect(authorised.judge(event(.requiresPaymentMethod, at: 1_500), receivedAt: now) == .stale)
        #expect(status(authorised.judge(event(.requiresPaymentMethod, at: 2_500), receivedAt: now)) == .requiresPaymentMethod)
        // The same state again: nothing to change.
        #expect(authorised.judge(event(.requiresCapture, at: 2_500, capturable: 5_000), receivedAt: now) == .nothingToChange)
        var final = base
        final.status = .canceled
        #expect(final.judge(event(.requiresCapture, at: 9_000), receivedAt: now) == .nothingToChange)
        // A charge's deadline replaces the 7-day estimate.
        var estimated = authorised
        estimated.captureBefore = Date(timeIntervalSince1970: 2_000 + Hold.customerInitiatedHoldWindow)
        let charge = StripeEvent(id: "evt_c", type: "charge.succeeded", created: Date(timeIntervalSince1970: 2_000), payload: Data(),
                                 paymentIntentID: "pi_1", charge: ChargeSnapshot(captureBefore: Date(timeIntervalSince1970: 500_000)))
        if case .apply(let updated) = estimated.judge(charge, receivedAt: now) {
            #expect(updated.captureBefore == Date(timeIntervalSince1970: 500_000))
            #expect(updated.status == .requiresCapture)
        } else {
            Issue.record("a charge's capture_before was not applied")
        }
    }

    @Test func badSignaturesAreRefusedAndChangeNothing() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.api.createHold(["amount": 5_000, "description": "Deposit"])
            let id = try #require(created.json["id"]?.stringValue)
            let now = Int64(Date().timeIntervalSince1970)
            let body = Data(#"{"id":"evt_forged","object":"event","type":"payment_intent.succeeded","created":\#(now),"data":{"object":{"id":"\#(id)","object":"payment_intent","status":"succeeded","amount":5000,"amount_received":5000}}}"#.utf8)
            let good = StripeWebhookSignature.header(payload: body, secret: ServerHarness.webhookSecret, timestamp: now)
            let goodSignature = String(good.split(separator: "=").last!)
            let cases: [(String, String?, Data)] = [
                ("missing header", "", body),
                ("wrong secret", StripeWebhookSignature.header(payload: body, secret: "whsec_wrong", timestamp: now), body),
                ("modified body", good, body + Data(" ".utf8)),
                ("stale", StripeWebhookSignature.header(payload: body, secret: ServerHarness.webhookSecret, timestamp: now - 400), body),
                ("future", StripeWebhookSignature.header(payload: body, secret: ServerHarness.webhookSecret, timestamp: now + 400), body),
                ("v0 only", "t=\(now),v0=\(goodSignature)", body),
                ("no timestamp", "v1=\(goodSignature)", body),
            ]
            for (name, header, payload) in cases {
                let reply = try await harness.api.send(.POST, "/webhook", headers: ["Content-Type": "application/json", "Stripe-Signature": header ?? ""], body: payload)
                #expect(reply.status == 400, "\(name): \(reply.text)")
                #expect(reply.json["code"] == "invalid_signature", "\(name)")
            }
            #expect(try await harness.store.webhookEvents(holdID: id).isEmpty)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["status"] == "requires_payment_method")
            // Two v1 signatures where only the second matches: accepted.
            let twoSignatures = "t=\(now),v1=\(String(repeating: "0", count: 64)),v1=\(goodSignature)"
            let accepted = try await harness.postWebhook(body, signature: twoSignatures)
            #expect(accepted.status == 200, "\(accepted.text)")
            #expect(accepted.json["received"] == true)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["status"] == "succeeded")
        }
    }

    @Test func unreadableUnknownAndForeignEvents() async throws {
        try await ServerHarness.run { harness in
            let now = Int64(Date().timeIntervalSince1970)
            let garbage = try await harness.postWebhook(Data("not json".utf8))
            #expect(garbage.status == 400)
            #expect(garbage.json["code"] == "invalid_event")
            let unknownType = try await harness.postWebhook(Data(#"{"id":"evt_1","type":"customer.created","created":\#(now),"data":{"object":{"id":"cus_1","object":"customer"}}}"#.utf8))
            #expect(unknownType.status == 200)
            #expect(unknownType.json["received"] == true)
            #expect(unknownType.json["outcome"] == "unknown_hold")
            let foreign = try await harness.postWebhook(Data(#"{"id":"evt_2","type":"payment_intent.succeeded","created":\#(now),"data":{"object":{"id":"pi_not_ours","object":"payment_intent","status":"succeeded"}}}"#.utf8))
            #expect(foreign.status == 200)
            #expect(foreign.json["outcome"] == "unknown_hold")
            let again = try await harness.postWebhook(Data(#"{"id":"evt_2","type":"payment_intent.succeeded","created":\#(now),"data":{"object":{"id":"pi_not_ours","object":"payment_intent","status":"succeeded"}}}"#.utf8))
            #expect(again.json["duplicate"] == true)
        }
    }

    @Test func reconciliationRepairsAHoldWhoseWebhookWasLost() async throws {
        // Webhooks are off: the authorisation's event never arrives.
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 9_000)
            let settledID = try await harness.authorisedHold(amount: 1_000)
            #expect(try await harness.api.call(.POST, "/api/holds/\(settledID)/capture").status == 200)
            #expect(try await harness.store.hold(id: id)?.status == .requiresPaymentMethod)
            await harness.emulator.resetCalls()
            // Not quiet long enough yet: nothing is asked.
            #expect(await harness.holds.stripeSync.reconcile(quietFor: 3_600) == 0)
            #expect(await harness.emulator.calls().isEmpty)
            #expect(await harness.holds.stripeSync.reconcile(quietFor: 0) == 1)
            let hold = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(hold.json["status"] == "requires_capture")
            #expect(hold.json["amount_capturable"] == 9_000)
            // Only the unsettled hold was read from Stripe; the captured one was left alone.
            let reads = await harness.emulator.calls().filter { $0.method == "GET" }.map(\.path)
            #expect(reads.count == 1)
            #expect(reads.first?.contains(id) == true)
            let events = try await harness.api.call(.GET, "/api/holds/\(id)/events")
            if case .array(let items)? = events.json["data"] {
                let fromStripe = items.filter { $0["kind"] != "decision" }
                #expect(fromStripe.count == 1)
                #expect(fromStripe.first?["kind"] == "reconciliation")
                #expect(fromStripe.first?["outcome"] == "applied")
                // The decisions about it: the hold_limit that placed it, the hold_schedule asked when it became capturable.
                #expect(items.filter { $0["kind"] == "decision" }.compactMap { $0["type"]?.stringValue } == ["hold_limit", "hold_schedule"])
            } else {
                Issue.record("no events: \(events.text)")
            }
            // A second pass finds nothing more to change.
            #expect(await harness.holds.stripeSync.reconcile(quietFor: 0) == 0)
        }
    }

    @Test func withoutASecretWebhooksAre503SoStripeRetries() async throws {
        var options = ServerHarness.Options()
        options.webhookSecret = nil
        try await ServerHarness.run(options) { harness in
            let reply = try await harness.postWebhook(Data("{}".utf8))
            #expect(reply.status == 503)
            #expect(reply.json["code"] == "webhook_secret_not_configured")
        }
    }
}
