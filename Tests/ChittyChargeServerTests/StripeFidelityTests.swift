import ChittyCharge
import Foundation
import JSON
import StripeAPI
import StripeEmulator
import Testing

/// Removes `amount_received` from capture answers, as an API version or proxy might.
struct AmountReceivedStrippingTransport: StripeTransport {
    let base: any StripeTransport

    func send(_ request: StripeHTTPRequest) async throws -> StripeHTTPResponse {
        var response = try await base.send(request)
        guard request.path.hasSuffix("/capture"),
              var object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else { return response }
        object["amount_received"] = nil
        response.body = try JSONSerialization.data(withJSONObject: object)
        return response
    }
}

@Suite("What we send Stripe and what we keep of its answers")
struct StripeFidelityTests {
    @Test func createsNameTheAllowedPaymentMethodTypes() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.api.createHold(["amount": 5_000, "description": "Deposit"])
            #expect(created.status == 201, "\(created.text)")
            let create = try #require(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").first)
            #expect(create.params["payment_method_types[0]"] == "card")
            #expect(create.params["payment_method_types[1]"] == nil)
            #expect(create.params["automatic_payment_methods[enabled]"] == nil)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(await harness.emulator.paymentIntent(id: id)?.paymentMethodTypes == ["card"])
        }
    }

    @Test func paymentMethodTypesAreValidated() throws {
        #expect(try PaymentMethodCaptureWindow.parse("card") == ["card"])
        #expect(try PaymentMethodCaptureWindow.parse(" Card , card ") == ["card"])
        #expect(throws: PaymentMethodCaptureWindow.InvalidTypes.self) { try PaymentMethodCaptureWindow.parse("card,sepa_debit") }
        #expect(throws: PaymentMethodCaptureWindow.InvalidTypes.self) { try PaymentMethodCaptureWindow.parse(" , ") }
        // Card windows (Stripe's table): 7 days customer-initiated, 4 days 18 hours merchant-initiated.
        #expect(PaymentMethodCaptureWindow.estimate(forTypes: ["card"]) == 7 * 86_400)
        #expect(PaymentMethodCaptureWindow.estimate(forTypes: ["card"], merchantInitiated: true) == 4 * 86_400 + 18 * 3_600)
    }

    @Test func aNullMetadataValueIsNotStoredBecauseStripeDoesNotHoldIt() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.api.createHold([
                "amount": 5_000, "description": "Deposit", "metadata": ["room": "12", "note": .null],
            ])
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"]?.stringValue)
            // Sent as `metadata[note]=`, which unsets the key at Stripe.
            let create = try #require(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").first)
            #expect(create.params["metadata[note]"] == "")
            #expect(await harness.emulator.paymentIntent(id: id)?.metadata["note"] == nil)
            #expect(created.json["metadata"]?["note"] == nil)
            #expect(created.json["metadata"]?["room"] == "12")
            #expect(try await harness.store.hold(id: id)?.metadata["note"] == nil)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["metadata"]?["note"] == nil)
        }
    }

    @Test func aDeclinedSavedCardCreateIsTrackedSoItsWebhooksFindIt() async throws {
        var options = ServerHarness.Options()
        options.webhooks = true
        options.automaticWebhooks = false
        try await ServerHarness.run(options) { harness in
            let body: [String: JSONValue] = [
                "amount": 5_000, "description": "Deposit", "customer": "cus_guest", "payment_method": "pm_card_chargeDeclined",
            ]
            let declined = try await harness.api.createHold(body, headers: ["Idempotency-Key": "declined-tracked"])
            #expect(declined.status == 402, "\(declined.text)")
            let intentID = try #require(await harness.emulator.paymentIntents().first?.id)
            let hold = try #require(try await harness.store.hold(id: intentID), "the declined intent is recorded")
            // Nobody will confirm it again: canceled at Stripe, so it is not left open.
            #expect(hold.status == .canceled)
            #expect(await harness.emulator.paymentIntent(id: intentID)?.status == "canceled")
            #expect(hold.amountCapturable == 0)
            #expect(hold.client == "default")
            #expect(try await harness.store.operationalGauges(at: Date(), overdueAfter: 60, expiryMargin: 0).chittyIDOutboxDepth == 0)
            // A retry still replays the refusal, without Stripe.
            let callsBefore = await harness.emulator.calls().count
            let replay = try await harness.api.createHold(body, headers: ["Idempotency-Key": "declined-tracked"])
            #expect(replay.status == 402)
            #expect(replay.body == declined.body)
            #expect(await harness.emulator.calls().count == callsBefore)
            // Its webhooks find it.
            let events = await harness.emulator.events().map(\.id)
            #expect(!events.isEmpty)
            let deliveries = await harness.emulator.deliverEvents(events)
            #expect(deliveries.allSatisfy { $0.delivered })
            let stored = try await harness.store.webhookEvents(holdID: intentID).filter { events.contains($0.id) }
            #expect(stored.count == events.count)
            #expect(!stored.contains { $0.outcome == .unknownHold })
        }
    }

    @Test func aCaptureAnswerWithoutAmountReceivedIsReadFromTheCharge() async throws {
        var options = ServerHarness.Options()
        options.wrapTransport = { AmountReceivedStrippingTransport(base: $0) }
        try await ServerHarness.run(options) { harness in
            let id = try await harness.authorisedHold(amount: 20_000)
            let capture = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 14_000])
            #expect(capture.status == 200, "\(capture.text)")
            #expect(capture.json["amount_captured"] == 14_000)
            #expect(capture.json["amount_remaining"] == 6_000)
            #expect(try await harness.store.hold(id: id)?.amountReceived == 14_000)
        }
    }
}

@Suite("Ordering webhooks by Stripe's object state")
struct WebhookStateOrderTests {
    static func hold(_ status: PaymentIntentStatus, stateAt seconds: TimeInterval) -> Hold {
        Hold(id: "pi_1", status: status, amount: 5_000, currency: "usd", description: "d", client: "c",
             tier: "T", tierLimit: 1, policyRevision: "r", createOperationKey: "k",
             createdAt: Date(timeIntervalSince1970: 1_000), updatedAt: Date(timeIntervalSince1970: 1_000),
             captureBefore: Date(timeIntervalSince1970: 600_000), stripeStateAt: Date(timeIntervalSince1970: seconds))
    }

    static func intentEvent(_ status: PaymentIntentStatus, at seconds: TimeInterval, failed: Bool) -> StripeEvent {
        let error = failed ? PaymentErrorDetail(httpStatus: 402, type: "card_error", code: "card_declined", message: "declined") : nil
        return StripeEvent(id: "evt", type: failed ? "payment_intent.payment_failed" : "payment_intent.created",
                           created: Date(timeIntervalSince1970: seconds), payload: Data(), paymentIntentID: "pi_1",
                           paymentIntent: PaymentIntent(id: "pi_1", status: status, amountCapturable: 0, lastPaymentError: error))
    }

    static func status(_ judgement: Hold.EventJudgement) -> PaymentIntentStatus? {
        if case .apply(let hold) = judgement { hold.status } else { nil }
    }

    @Test func aFailureInTheSameSecondAsRequiresActionIsALaterTransition() {
        let now = Date(timeIntervalSince1970: 3_000)
        // From a webhook at 2000 (whole seconds), or from our own call a moment later.
        for stateAt in [2_000, 2_000.6] {
            let acting = Self.hold(.requiresAction, stateAt: stateAt)
            #expect(Self.status(acting.judge(Self.intentEvent(.requiresPaymentMethod, at: 2_000, failed: true), receivedAt: now)) == .requiresPaymentMethod)
            // The intent as first created (no error) in that second is older: stale.
            #expect(acting.judge(Self.intentEvent(.requiresPaymentMethod, at: 2_000, failed: false), receivedAt: now) == .stale)
        }
        // A failure a whole second older than what we hold is still stale.
        #expect(Self.hold(.requiresAction, stateAt: 2_001).judge(Self.intentEvent(.requiresPaymentMethod, at: 2_000, failed: true), receivedAt: now) == .stale)
    }

    @Test func refundingAnUncapturedChargeReleasesTheHold() {
        let now = Date(timeIntervalSince1970: 3_000)
        var authorised = Self.hold(.requiresCapture, stateAt: 2_000)
        authorised.amountCapturable = 5_000
        let refund = StripeEvent(id: "evt_r", type: "charge.refunded", created: Date(timeIntervalSince1970: 2_500), payload: Data(),
                                 paymentIntentID: "pi_1", charge: ChargeSnapshot(amountCaptured: 0, captured: false))
        guard case .apply(let released) = authorised.judge(refund, receivedAt: now) else {
            Issue.record("an uncaptured refund did not move the hold")
            return
        }
        #expect(released.status == .canceled)
        #expect(released.amountCapturable == 0)
        #expect(released.canceledAt == Date(timeIntervalSince1970: 2_500))
        // A refund after capture changes no hold: it is final.
        var captured = authorised
        captured.status = .succeeded
        let late = StripeEvent(id: "evt_r2", type: "charge.refunded", created: Date(timeIntervalSince1970: 2_600), payload: Data(),
                               paymentIntentID: "pi_1", charge: ChargeSnapshot(amountCaptured: 5_000, captured: true))
        #expect(captured.judge(late, receivedAt: now) == .nothingToChange)
    }
}
