import ChittyCharge
import Foundation
import JSON
import StripeEmulator
import Testing

/// What the rental app says happened to a stay, and what the shipped policy makes of it.
@Suite("Booking events")
struct BookingEventsTests {
    static let quiet = DomainHarness.quietLogger

    /// A capturable hold whose booking carries its own no-show fee.
    static func bookedHold(_ harness: DomainHarness, metadata: [String: JSONValue]) async throws -> Hold {
        let placed = try await harness.holds.placement.placeHold(
            HoldRequest(amount: 50_000, description: "Deposit", propertyID: "prop_lakeview", metadata: metadata),
            client: "frontdesk", idempotencyKey: nil, logger: quiet)
        if case .failure(let error) = await harness.emulator.confirm(id: placed.hold.id, paymentMethod: "pm_card_visa") { throw error }
        return try await harness.holds.queries.hold(id: placed.hold.id, refresh: true, access: .everyHold, logger: quiet)
    }

    static func event(_ id: String, _ kind: BookingEvent.Kind, at: Date, details: [String: JSONValue] = [:]) -> BookingEventRequest {
        BookingEventRequest(eventID: id, kind: kind, occurredAt: at.rounded(), details: details)
    }

    static func iso(_ date: Date) -> JSONValue { .string(BookingTime.format(date)) }

    @Test("the no-show fee waits for check-in + 24 h; a check-in replaces it with the release 48 h after check-out")
    func aCheckInCancelsTheNoShowFee() async throws {
        try await DomainHarness.run { harness in
            let now = harness.clock.now().rounded()
            let checkIn = now.addingTimeInterval(86_400)
            let checkOut = now.addingTimeInterval(3 * 86_400)
            let hold = try await Self.bookedHold(harness, metadata: [
                "check_in": Self.iso(checkIn), "check_out": Self.iso(checkOut), "no_show_fee": 10_000,
            ])
            #expect(hold.scheduledAction?.kind == .capture)
            #expect(hold.scheduledAction?.amount == 10_000)
            #expect(hold.scheduledAction?.at == checkIn.addingTimeInterval(86_400))

            let receipt = try await harness.holds.bookingEvents.record(
                Self.event("pms-1", .checkedIn, at: checkIn.addingTimeInterval(3_600)), holdID: hold.id, client: "frontdesk",
                access: .ownedBy(["frontdesk"]), logger: Self.quiet)
            #expect(receipt.replayed == false)
            #expect(receipt.booking.stage == .checkedIn)
            #expect(receipt.outcome.scheduledAction?.kind == .release)
            #expect(receipt.outcome.scheduledAction?.at == checkOut.addingTimeInterval(48 * 3_600))
            #expect(try await harness.store.hold(id: hold.id)?.scheduledAction?.kind == .release)

            // The PMS retries its webhook: the first answer, nothing asked again.
            let decisionsBefore = try await harness.store.decisions(subject: hold.id).count
            let again = try await harness.holds.bookingEvents.record(
                Self.event("pms-1", .checkedIn, at: checkIn.addingTimeInterval(3_600)), holdID: hold.id, client: "frontdesk",
                access: .ownedBy(["frontdesk"]), logger: Self.quiet)
            #expect(again.replayed)
            #expect(again.outcome == receipt.outcome)
            #expect(again.event.eventID == receipt.event.eventID)
            #expect(again.event.receivedAt == receipt.event.receivedAt, "the first event, as stored")
            #expect(try await harness.store.decisions(subject: hold.id).count == decisionsBefore)
            #expect(try await harness.store.bookingEvents(holdID: hold.id).count == 1)
        }
    }

    @Test("a no_show event captures the fee at once, exactly once at Stripe")
    func aNoShowCapturesTheFee() async throws {
        try await DomainHarness.run { harness in
            let now = harness.clock.now().rounded()
            let hold = try await Self.bookedHold(harness, metadata: [
                "check_in": Self.iso(now.addingTimeInterval(3_600)), "check_out": Self.iso(now.addingTimeInterval(2 * 86_400)),
                "no_show_fee": true,
            ])
            harness.clock.advance(by: 6 * 3_600)
            let receipt = try await harness.holds.bookingEvents.record(
                Self.event("pms-ns", .noShow, at: harness.clock.now()), holdID: hold.id, client: "frontdesk",
                access: .ownedBy(["frontdesk"]), logger: Self.quiet)
            // `true` takes the fee from settings.json (10,000 cents): the policy saw a boolean.
            #expect(receipt.outcome.scheduledAction?.kind == .capture)
            #expect(receipt.outcome.scheduledAction?.amount == 10_000)
            #expect(await harness.holds.scheduler.runDue() == 1)
            #expect(await harness.holds.scheduler.runDue() == 0)
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/\(hold.id)/capture") == 1)
            let captured = try await harness.store.hold(id: hold.id)
            #expect(captured?.status == .succeeded)
            #expect(captured?.amountReceived == 10_000)
        }
    }

    @Test("hold_schedule sees the metadata with the client's JSON types, and its decision is recorded with them")
    func metadataKeepsItsTypes() async throws {
        try await DomainHarness.run { harness in
            let hold = try await Self.bookedHold(harness, metadata: [
                "no_show_fee": true, "nights": 3, "guest": ["vip": false], "check_out": "2030-01-05",
            ])
            #expect(hold.clientMetadata?["no_show_fee"] == true)
            #expect(hold.metadata["no_show_fee"] == "true", "Stripe's copy is text")
            let decision = try #require(try await harness.store.decisions(subject: hold.id).last)
            let input = try JSONValue(jsonData: decision.input)
            #expect(input["metadata"]?["no_show_fee"] == true)
            #expect(input["metadata"]?["nights"] == 3)
            #expect(input["metadata"]?["guest"]?["vip"] == false)
            #expect(input["metadata"]?["property_id"] == nil, "property_id is a field of its own, not metadata")
            #expect(input["booking"]?["state"] == "booked")
        }
    }

    @Test("one event id says one thing; another client's hold is not found; a cancelled booking releases")
    func conflictsOwnershipAndCancellation() async throws {
        try await DomainHarness.run { harness in
            let now = harness.clock.now().rounded()
            let hold = try await Self.bookedHold(harness, metadata: ["check_out": Self.iso(now.addingTimeInterval(86_400))])
            let first = Self.event("pms-9", .bookingCancelled, at: now)
            _ = try await harness.holds.bookingEvents.record(first, holdID: hold.id, client: "frontdesk", access: .ownedBy(["frontdesk"]), logger: Self.quiet)
            do throws(HoldServiceError) {
                _ = try await harness.holds.bookingEvents.record(
                    Self.event("pms-9", .noShow, at: now), holdID: hold.id, client: "frontdesk", access: .ownedBy(["frontdesk"]), logger: Self.quiet)
                Issue.record("a different event under a used id was accepted")
            } catch {
                #expect(error.kind == .bookingEventConflict)
            }
            await #expect(throws: HoldServiceError.notFound(holdID: hold.id)) {
                _ = try await harness.holds.bookingEvents.record(
                    Self.event("pms-10", .checkedIn, at: now), holdID: hold.id, client: "bob", access: .ownedBy(["bob"]), logger: Self.quiet)
            }
            #expect(try await harness.store.bookingEvents(holdID: hold.id).map(\.eventID) == ["pms-9"])
            let pending = try await harness.store.hold(id: hold.id)?.scheduledAction
            #expect(pending?.kind == .release)
            #expect(pending?.at == now)
            #expect(await harness.holds.scheduler.runDue() == 1)
            #expect(await harness.emulator.callCount(method: "POST", pathPrefix: "/v1/payment_intents/\(hold.id)/cancel") == 1)
        }
    }

    @Test("an event recorded before a crash, never answered, is answered by recovery")
    func anUnansweredEventIsAnsweredAfterACrash() async throws {
        try await DomainHarness.run { harness in
            let now = harness.clock.now().rounded()
            let hold = try await Self.bookedHold(harness, metadata: [
                "check_in": Self.iso(now.addingTimeInterval(3_600)), "check_out": Self.iso(now.addingTimeInterval(86_400)),
                "no_show_fee": 10_000,
            ])
            #expect(hold.scheduledAction?.kind == .capture)
            // What a process that stopped right after storing the event leaves behind.
            _ = try await harness.store.recordBookingEvent(BookingEvent(
                holdID: hold.id, eventID: "pms-crash", kind: .checkedIn, occurredAt: now, client: "frontdesk", receivedAt: now))
            #expect(await harness.holds.bookingEvents.answerUnanswered() == 1)
            let stored = try await harness.store.bookingEvents(holdID: hold.id)
            #expect(stored.first?.outcome?.scheduledAction?.kind == .release)
            #expect(try await harness.store.hold(id: hold.id)?.scheduledAction?.kind == .release)
            #expect(await harness.holds.bookingEvents.answerUnanswered() == 0)
        }
    }

    @Test("a request body is checked field by field and names what is wrong")
    func requestsAreChecked() throws {
        func refusal(_ body: String) -> HoldServiceError? {
            do throws(HoldServiceError) {
                _ = try BookingEventRequest.parse(Data(body.utf8))
                return nil
            } catch {
                return error
            }
        }
        let good = try BookingEventRequest.parse(Data(#"{"event_id":"e1","type":"stay_extended","occurred_at":"2026-07-04T10:00:00-05:00","details":{"check_out":"2026-07-08"}}"#.utf8))
        #expect(good.kind == .stayExtended)
        #expect(good.occurredAt == Date(timeIntervalSince1970: 1_783_177_200))
        #expect(refusal(#"{"event_id":"e1","type":"checked_in","occurred_at":"2026-07-04T10:00:00Z","typo":1}"#)?.details?["field"] == "typo")
        #expect(refusal(#"{"event_id":"e1","type":"arrived","occurred_at":"2026-07-04T10:00:00Z"}"#)?.details?["field"] == "type")
        #expect(refusal(#"{"event_id":"e1","type":"checked_in","occurred_at":"2026-07-04T10:00:00"}"#)?.details?["field"] == "occurred_at", "no zone")
        #expect(refusal(#"{"event_id":"e1","type":"checked_in","occurred_at":1751623200}"#)?.details?["field"] == "occurred_at", "seconds")
        #expect(refusal(#"{"event_id":"e1","type":"stay_extended","occurred_at":"2026-07-04T10:00:00Z"}"#)?.details?["field"] == "details.check_out")
        #expect(refusal(#"{"event_id":"has space","type":"checked_in","occurred_at":"2026-07-04T10:00:00Z"}"#)?.details?["field"] == "event_id")
        #expect(refusal(#"{"type":"checked_in","occurred_at":"2026-07-04T10:00:00Z"}"#)?.details?["field"] == "event_id")
        #expect(refusal(#"{"event_id":"e1","type":"checked_in","occurred_at":"2026-07-04T10:00:00Z","details":[1]}"#)?.details?["field"] == "details")
        #expect(refusal("[]")?.kind == .invalidRequest)
        #expect(refusal("{")?.kind == .invalidRequest)
    }
}

extension Date {
    /// Whole seconds, as times travel through ISO-8601 text.
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
