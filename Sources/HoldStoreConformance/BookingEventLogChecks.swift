import ChittyCharge
import Foundation
import JSON

extension HoldStoreConformance {
    static func bookingEvent(_ eventID: String, holdID: String = "pi_1", kind: BookingEvent.Kind = .checkedIn, at: Int = 1_000,
                             details: [String: JSONValue] = [:]) -> BookingEvent {
        BookingEvent(holdID: holdID, eventID: eventID, kind: kind, occurredAt: Fixture.time(at), details: details,
                     client: "frontdesk", receivedAt: Fixture.time(at + 500))
    }

    static let bookingEventLogChecks: [HoldStoreCheck] = [
        HoldStoreCheck("recordBookingEvent records an event once per hold and event id; a repeat returns the first") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            try await Fixture.placeHold(in: store, id: "pi_2")
            let first = bookingEvent("evt-1", kind: .stayExtended, details: ["check_out": "2026-07-12", "nights": 2, "note": ["by": "pms"]])
            let recorded = try await store.recordBookingEvent(first)
            try expectEqual(recorded.inserted, true, "the first event")
            try expectEqual(recorded.stored, first, "the stored event")
            var other = first
            other.kind = .noShow
            let repeated = try await store.recordBookingEvent(other)
            try expectEqual(repeated.inserted, false, "a repeat of the id")
            try expectEqual(repeated.stored, first, "a repeat returns the first, with its types")
            // The same event id on another hold is another event.
            try expectEqual(try await store.recordBookingEvent(bookingEvent("evt-1", holdID: "pi_2")).inserted, true, "same id, other hold")
            try expectEqual(try await store.bookingEvents(holdID: "pi_1"), [first], "one event on pi_1")
        },

        HoldStoreCheck("recordBookingEvent for an unknown hold throws notFound and records nothing") { store in
            try await expectStoreError("an event for no hold", matching: { if case .notFound = $0 { true } else { false } }) {
                try await store.recordBookingEvent(bookingEvent("evt-1", holdID: "pi_missing"))
            }
            try expectEqual(try await store.bookingEvents(holdID: "pi_missing"), [], "nothing recorded")
        },

        HoldStoreCheck("setBookingEventOutcome keeps the first outcome set") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            _ = try await store.recordBookingEvent(bookingEvent("evt-1"))
            let release = ScheduledAction(kind: .release, at: Fixture.time(90_000), amount: nil, revision: "rev-a", state: .pending, lease: nil)
            let first = BookingEventOutcome(scheduledAction: release, revision: "rev-a")
            try expectEqual(try await store.setBookingEventOutcome(first, holdID: "pi_1", eventID: "evt-1"), first, "the first outcome")
            let second = BookingEventOutcome(scheduledAction: nil, revision: "rev-b")
            try expectEqual(try await store.setBookingEventOutcome(second, holdID: "pi_1", eventID: "evt-1"), first, "a later outcome loses")
            try expectEqual(try await store.bookingEvents(holdID: "pi_1").first?.outcome, first, "stored with the event")
            try await expectStoreError("an outcome for no event", matching: { if case .notFound = $0 { true } else { false } }) {
                try await store.setBookingEventOutcome(first, holdID: "pi_1", eventID: "evt-missing")
            }
        },

        HoldStoreCheck("bookingEvents lists in arrival order; bookingEventsWithoutOutcome lists the unanswered oldest first") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let late = bookingEvent("evt-b", kind: .checkedOut, at: 9_000)
            let early = bookingEvent("evt-a", kind: .checkedIn, at: 1_000)
            _ = try await store.recordBookingEvent(late)
            _ = try await store.recordBookingEvent(early)
            try expectEqual(try await store.bookingEvents(holdID: "pi_1").map(\.eventID), ["evt-b", "evt-a"], "arrival order")
            _ = try await store.setBookingEventOutcome(BookingEventOutcome(scheduledAction: nil, revision: nil), holdID: "pi_1", eventID: "evt-a")
            try expectEqual(try await store.bookingEventsWithoutOutcome(limit: 10).map(\.eventID), ["evt-b"], "only the unanswered")
        },
    ]
}

extension HoldStoreConformance {
    static let clientMetadataChecks: [HoldStoreCheck] = [
        HoldStoreCheck("holds and create operations keep the client's typed metadata; updating a hold keeps it") { store in
            let typed: [String: JSONValue] = ["no_show_fee": true, "nights": 3, "rate": 1.5, "guest": ["tier": "VIP"], "tags": ["a", "b"], "gone": .null]
            var operation = Fixture.createOperation(key: "create-pi_1")
            operation.clientMetadata = typed
            guard case .started = try await store.claimCreate(operation) else { throw ConformanceFailure("claim did not start", location: #fileID) }
            try expectEqual(try await store.createOperation(key: operation.key)?.clientMetadata, typed, "the operation's metadata")
            var hold = Fixture.hold(id: "pi_1", operationKey: operation.key)
            hold.clientMetadata = typed
            try await store.completeCreate(key: operation.key, hold: hold)
            try expectEqual(try await store.hold(id: "pi_1")?.clientMetadata, typed, "the hold's metadata, types kept")
            var updated = hold
            updated.clientMetadata = ["changed": true]
            updated.updatedAt = Fixture.time(5_000)
            try await store.updateHold(updated)
            try expectEqual(try await store.hold(id: "pi_1")?.clientMetadata, typed, "written once with the hold")
            // A hold placed without it reads back as nil (older rows), not as an empty object.
            try await Fixture.placeHold(in: store, id: "pi_2")
            try expectEqual(try await store.hold(id: "pi_2")?.clientMetadata, nil, "none recorded")
        },
    ]
}
