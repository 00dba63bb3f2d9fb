import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static func event(_ id: String, holdID: String?, created: Int, outcome: WebhookOutcome = .applied) -> WebhookEventRecord {
        WebhookEventRecord(
            id: id, type: "payment_intent.amount_capturable_updated", created: Fixture.time(created),
            payload: Data(#"{"id":"\#(id)"}"#.utf8), holdID: holdID, outcome: outcome, receivedAt: Fixture.time(created + 500))
    }

    static let webhookEventLogChecks: [HoldStoreCheck] = [
        HoldStoreCheck("recordWebhookEvent records an event once; a duplicate changes nothing") { store in
            try await Fixture.placeHold(in: store, id: "pi_1", status: .requiresPaymentMethod)
            let first = event("evt_1", holdID: "pi_1", created: 1_000, outcome: .recorded)
            try expectEqual(try await store.recordWebhookEvent(first, update: nil), true, "the first delivery")
            var again = first
            again.outcome = .stale
            again.receivedAt = Fixture.time(9_000)
            try expectEqual(try await store.recordWebhookEvent(again, update: nil), false, "a duplicate delivery")
            try expectEqual(try await store.webhookEvents(holdID: "pi_1"), [first], "events after a duplicate")
        },

        HoldStoreCheck("recordWebhookEvent replaces the hold with the event, atomically") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1", status: .requiresPaymentMethod)
            var moved = hold
            moved.status = .requiresCapture
            moved.amountCapturable = hold.amount
            moved.stripeStateAt = Fixture.time(1_000)
            moved.updatedAt = Fixture.time(1_500)
            let update = HoldReplacement(expected: hold, replacement: moved)
            try expectEqual(try await store.recordWebhookEvent(event("evt_1", holdID: "pi_1", created: 1_000), update: update), true, "record with update")
            try expectEqual(try await store.hold(id: "pi_1"), moved, "the hold after the event")
            // A duplicate with an update applies nothing.
            var further = moved
            further.status = .canceled
            try expectEqual(
                try await store.recordWebhookEvent(event("evt_1", holdID: "pi_1", created: 1_000), update: HoldReplacement(expected: moved, replacement: further)),
                false, "duplicate with an update")
            try expectEqual(try await store.hold(id: "pi_1")?.status, .requiresCapture, "the hold after a duplicate")
        },

        HoldStoreCheck("recordWebhookEvent refuses a replacement judged against a hold that has changed") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1", status: .requiresPaymentMethod)
            var current = hold
            current.status = .succeeded
            current.amountReceived = hold.amount
            current.updatedAt = Fixture.time(2_000)
            try await store.updateHold(current)
            var stale = hold
            stale.status = .requiresCapture
            try await expectStoreError("a replacement of a hold that changed", matching: { if case .conflict = $0 { true } else { false } }) {
                try await store.recordWebhookEvent(event("evt_1", holdID: "pi_1", created: 1_000), update: HoldReplacement(expected: hold, replacement: stale))
            }
            try expectEqual(try await store.hold(id: "pi_1"), current, "the hold is untouched")
            try expectEqual(try await store.webhookEvents(holdID: "pi_1"), [], "the event is not recorded, so it can be judged again")
        },

        HoldStoreCheck("webhookEvents lists a hold's events by Stripe's time, then arrival") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            try await Fixture.placeHold(in: store, id: "pi_2")
            let late = event("evt_late", holdID: "pi_1", created: 3_000)
            let early = event("evt_early", holdID: "pi_1", created: 1_000)
            let tieA = event("evt_tie_a", holdID: "pi_1", created: 2_000)
            let tieB = event("evt_tie_b", holdID: "pi_1", created: 2_000)
            for record in [late, early, tieA, tieB, event("evt_other", holdID: "pi_2", created: 1_500), event("evt_none", holdID: nil, created: 1, outcome: .unknownHold)] {
                _ = try await store.recordWebhookEvent(record, update: nil)
            }
            try expectEqual(try await store.webhookEvents(holdID: "pi_1").map(\.id), ["evt_early", "evt_tie_a", "evt_tie_b", "evt_late"], "pi_1's events")
            try expectEqual(try await store.webhookEvents(holdID: "pi_2").map(\.id), ["evt_other"], "pi_2's events")
        },
    ]
}
