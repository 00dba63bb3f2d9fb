import ChittyCharge
import Foundation
import StripeEmulator
import Testing

/// The hold services driven directly (no HTTP, no sockets): each job through its own type.
@Suite("Hold services")
struct HoldServicesTests {
    @Test("a hold the policy refuses is recorded, answered again to a retry, and never reaches Stripe")
    func policyRefusalNeverReachesStripe() async throws {
        try await DomainHarness.run { harness in
            // The shipped policy allows a NEW_GUEST at most $2,500.
            let request = HoldRequest(amount: 300_000, description: "Deposit", metadata: ["guest_tier": "NEW_GUEST"])
            var answers: [HoldServiceError] = []
            for _ in 0..<2 {
                do throws(HoldServiceError) {
                    _ = try await harness.holds.placement.placeHold(request, client: "frontdesk", idempotencyKey: "booking-1", logger: DomainHarness.quietLogger)
                    Issue.record("the policy's refusal was not answered")
                } catch {
                    answers.append(error)
                }
            }
            #expect(answers.map(\.kind) == [.holdLimitExceeded, .holdLimitExceeded])
            #expect(answers.first == answers.last, "a retry gets the first answer")
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents") == 0)
        }
    }

    @Test("twenty identical captures at once make one Stripe capture and all get its receipt")
    func concurrentCapturesMakeOneStripeCall() async throws {
        try await DomainHarness.run { harness in
            let hold = try await harness.authorisedHold(amount: 20_000)
            let receipts = try await withThrowingTaskGroup(of: CaptureReceipt.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await harness.holds.operations.capture(holdID: hold.id, amount: 7_500, access: .everyHold, logger: DomainHarness.quietLogger)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(receipts.map(\.amountCaptured)) == [7_500])
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/\(hold.id)/capture") == 1)
        }
    }

    @Test("a capture above the authorised amount is refused before Stripe is asked")
    func overCaptureIsRefusedLocally() async throws {
        try await DomainHarness.run { harness in
            let hold = try await harness.authorisedHold(amount: 20_000)
            do throws(HoldServiceError) {
                _ = try await harness.holds.operations.capture(holdID: hold.id, amount: 20_001, access: .everyHold, logger: DomainHarness.quietLogger)
                Issue.record("the capture above the hold was accepted")
            } catch {
                #expect(error.kind == .amountExceedsAuthorized)
            }
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/\(hold.id)/capture") == 0)
        }
    }

    @Test("another client's hold is not found, and Stripe is not asked about it")
    func accessHidesOtherClientsHolds() async throws {
        try await DomainHarness.run { harness in
            let hold = try await harness.authorisedHold()
            let bob = HoldAccess.ownedBy(["bob"])
            await #expect(throws: HoldServiceError.notFound(holdID: hold.id)) {
                _ = try await harness.holds.queries.hold(id: hold.id, refresh: true, access: bob, logger: DomainHarness.quietLogger)
            }
            await #expect(throws: HoldServiceError.notFound(holdID: hold.id)) {
                _ = try await harness.holds.operations.cancel(holdID: hold.id, access: bob, logger: DomainHarness.quietLogger)
            }
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/\(hold.id)/cancel") == 0)
        }
    }

    @Test("what we read from Stripe and a webhook saying the same thing move the hold once")
    func aReadAndAWebhookApplyOnce() async throws {
        try await DomainHarness.run { harness in
            let placed = try await harness.holds.placement.placeHold(
                HoldRequest(amount: 10_000, description: "Deposit"), client: "frontdesk", idempotencyKey: nil, logger: DomainHarness.quietLogger)
            if case .failure(let error) = await harness.emulator.confirm(id: placed.hold.id, paymentMethod: "pm_card_visa") { throw error }
            harness.clock.advance(by: 3_600)
            // Reconciliation reads the intent (its webhook was "lost") and applies it.
            #expect(await harness.holds.stripeSync.reconcile(quietFor: 60) == 1)
            let read = try #require(try await harness.store.hold(id: placed.hold.id))
            #expect(read.status == .requiresCapture)
            // The webhook arrives late: recorded, nothing left to change.
            let events = await harness.emulator.events().filter { $0.type == "payment_intent.amount_capturable_updated" }
            let event = try #require(events.first)
            let late = StripeEvent(id: event.id, type: event.type, created: event.created, payload: Data(), paymentIntentID: placed.hold.id,
                                   paymentIntent: PaymentIntent(id: placed.hold.id, status: .requiresCapture, amount: 10_000, amountCapturable: 10_000))
            #expect(try await harness.holds.stripeSync.ingestWebhook(late) != .applied)
            let history = try await harness.store.webhookEvents(holdID: placed.hold.id)
            #expect(history.filter { $0.outcome == .applied }.map(\.type) == [HoldHistoryEntryType.reconciled])
        }
    }

    @Test("a create left pending by an unreachable Stripe is finished by recovery with its first idempotency key")
    func recoveryReplaysThePendingCreate() async throws {
        try await DomainHarness.run { harness in
            await harness.emulator.setUnreachable(true)
            await #expect(throws: HoldServiceError.self) {
                _ = try await harness.holds.placement.placeHold(
                    HoldRequest(amount: 10_000, description: "Deposit"), client: "frontdesk", idempotencyKey: "booking-7", logger: DomainHarness.quietLogger)
            }
            let pending = try await harness.store.pendingCreates()
            #expect(pending.count == 1)
            await harness.emulator.setUnreachable(false)
            // The store keeps times to the millisecond: let the clock pass the stored time.
            harness.clock.advance(by: 1)
            #expect(await harness.holds.recovery.recoverPendingOperations(grace: 0).resolved == 1)
            #expect(try await harness.store.pendingCreates().isEmpty)
            let creates = await harness.emulator.calls(path: "/v1/payment_intents").filter { $0.method == "POST" }
            #expect(creates.count == 1)
            #expect(creates.first?.idempotencyKey == pending.first?.key)
        }
    }

    @Test("a due release runs once through the operations; a second runner finds nothing to do")
    func aDueReleaseRunsOnce() async throws {
        try await DomainHarness.run { harness in
            let hold = try await harness.authorisedHold()
            try await harness.store.setScheduledAction(
                ScheduledAction(kind: .release, at: harness.clock.now().addingTimeInterval(60), amount: nil, revision: "test"), holdID: hold.id)
            #expect(await harness.holds.scheduler.runDue() == 0, "not due yet")
            harness.clock.advance(by: 61)
            #expect(await harness.holds.scheduler.runDue() == 1)
            #expect(await harness.holds.scheduler.runDue() == 0)
            #expect(try await harness.store.hold(id: hold.id)?.status == .canceled)
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/\(hold.id)/cancel") == 1)
        }
    }
}
