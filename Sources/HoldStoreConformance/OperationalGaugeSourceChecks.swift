import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let operationalGaugeSourceChecks: [HoldStoreCheck] = [
        HoldStoreCheck("operationalGauges of an empty store are all zero") { store in
            try expectEqual(
                try await store.operationalGauges(at: Fixture.time(0), overdueAfter: 60, expiryMargin: 12 * 3600),
                OperationalGauges(scheduledActionsDue: 0, scheduledActionsOverdue: 0, holdsWithoutActionBeforeExpiry: 0, chittyIDOutboxDepth: 0),
                "gauges of an empty store")
        },

        HoldStoreCheck("operationalGauges counts due and overdue actions, holds with nothing due before expiry, and the outbox") { store in
            // Every fixture hold is capturable with capture_before = created + 7 days.
            let margin: TimeInterval = 12 * 3600
            let lastSafeOffset = 7 * 86_400_000 - Int(margin * 1000)
            try await Fixture.placeHold(in: store, id: "pi_none")
            for (id, offset) in [("pi_due", 1_000), ("pi_exactly_now", 70_000), ("pi_future", 100_000),
                                 ("pi_at_margin", lastSafeOffset), ("pi_after_margin", lastSafeOffset + 1)] {
                try await Fixture.placeHold(in: store, id: id)
                try await store.setScheduledAction(action(at: offset), holdID: id)
            }
            try await Fixture.placeHold(in: store, id: "pi_running")
            let running = action(.capture, at: 2_000)
            try await store.setScheduledAction(running, holdID: "pi_running")
            try expectEqual(try await store.claimScheduledAction(running, holdID: "pi_running", lease: lease("a", until: 10_000), at: Fixture.time(2_000)),
                            true, "claim of pi_running")
            try await Fixture.placeHold(in: store, id: "pi_captured", status: .succeeded)
            try await Fixture.placeHold(in: store, id: "pi_minted", chittyID: "CHITTY-AUTH-1")
            try await store.setScheduledAction(action(at: 100_000), holdID: "pi_minted")

            let gauges = try await store.operationalGauges(at: Fixture.time(70_000), overdueAfter: 60, expiryMargin: margin)
            // Due at t+70 s: pi_due, pi_exactly_now, pi_running; overdue (due at or before t+10 s): pi_due, pi_running.
            try expectEqual(gauges.scheduledActionsDue, 3, "actions due")
            try expectEqual(gauges.scheduledActionsOverdue, 2, "actions overdue")
            // pi_none (nothing scheduled) and pi_after_margin; not the captured hold.
            try expectEqual(gauges.holdsWithoutActionBeforeExpiry, 2, "holds with nothing due before expiry")
            // Every hold but pi_minted waits for its ChittyID.
            try expectEqual(gauges.chittyIDOutboxDepth, 8, "ChittyID outbox depth")

            try await store.recordMinted(holdID: "pi_none", chittyID: "CHITTY-AUTH-2", at: Fixture.time(80_000))
            try await store.setScheduledAction(nil, holdID: "pi_due")
            let later = try await store.operationalGauges(at: Fixture.time(70_000), overdueAfter: 60, expiryMargin: margin)
            try expectEqual(later.chittyIDOutboxDepth, 7, "outbox depth after a mint")
            try expectEqual(later.scheduledActionsDue, 2, "actions due after one is cleared")
            try expectEqual(later.scheduledActionsOverdue, 1, "actions overdue after one is cleared")
            // pi_due now has nothing scheduled, so it joins the flagged ones.
            try expectEqual(later.holdsWithoutActionBeforeExpiry, 3, "holds with nothing due before expiry after clearing pi_due")
        },
    ]
}
