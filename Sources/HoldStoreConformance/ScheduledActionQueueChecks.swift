import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static func action(_ kind: ScheduledAction.Kind = .release, at offset: Int, amount: Int? = nil, revision: String = "rev-1") -> ScheduledAction {
        ScheduledAction(kind: kind, at: Fixture.time(offset), amount: amount, revision: revision)
    }

    /// `owner`'s claim, lasting until `offset`.
    static func lease(_ owner: String, until offset: Int) -> ScheduledAction.Lease {
        ScheduledAction.Lease(owner: owner, until: Fixture.time(offset))
    }

    static let scheduledActionQueueChecks: [HoldStoreCheck] = [
        HoldStoreCheck("linkReplacement links both holds, atomically") { store in
            try await Fixture.placeHold(in: store, id: "pi_old")
            try await Fixture.placeHold(in: store, id: "pi_new")
            try await store.linkReplacement(oldHoldID: "pi_old", newHoldID: "pi_new")
            try expectEqual(try await store.hold(id: "pi_old")?.replacedBy, "pi_new", "the old hold's replacedBy")
            try expectEqual(try await store.hold(id: "pi_new")?.replaces, "pi_old", "the new hold's replaces")
            try await expectStoreError("linking to an unknown hold", matching: \.isNotFound) {
                try await store.linkReplacement(oldHoldID: "pi_new", newHoldID: "pi_missing")
            }
            try expectEqual(try await store.hold(id: "pi_new")?.replacedBy, nil, "nothing written when a link fails")
        },

        HoldStoreCheck("setScheduledAction sets and clears; writing the hold leaves it alone") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1")
            let capture = action(.capture, at: 5_000, amount: 2_500)
            try await store.setScheduledAction(capture, holdID: "pi_1")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, capture, "the scheduled action")
            var changed = hold
            changed.amountCapturable = 1
            try await store.updateHold(changed)
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, capture, "the action after updateHold")
            try await store.setScheduledAction(nil, holdID: "pi_1")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, nil, "the action after clearing")
            try await expectStoreError("setScheduledAction of an unknown hold", matching: \.isNotFound) {
                try await store.setScheduledAction(capture, holdID: "pi_missing")
            }
        },

        HoldStoreCheck("claimScheduledAction succeeds once, only for the action as it is") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let release = action(at: 5_000)
            try await store.setScheduledAction(release, holdID: "pi_1")
            let now = Fixture.time(9_000)
            try expectEqual(try await store.claimScheduledAction(action(at: 6_000), holdID: "pi_1", lease: lease("a", until: 60_000), at: now),
                            false, "a claim of another time")
            try expectEqual(try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("a", until: 60_000), at: now), true, "the first claim")
            try expectEqual(try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("b", until: 60_000), at: now),
                            false, "a second claim, by another owner")
            var running = release
            running.state = .running
            running.lease = lease("a", until: 60_000)
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, running, "the claimed action")
        },

        HoldStoreCheck("20 concurrent claims of one scheduled action: exactly one wins") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let capture = action(.capture, at: 5_000)
            try await store.setScheduledAction(capture, holdID: "pi_1")
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await store.claimScheduledAction(capture, holdID: "pi_1", lease: lease("runner-\(index)", until: 60_000), at: Fixture.time(5_000))
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try expectEqual(wins, 1, "claims won")
        },

        HoldStoreCheck("holdsWithDueActions lists due actions, pending or running, earliest first") { store in
            for id in ["pi_late", "pi_early", "pi_running", "pi_none"] { try await Fixture.placeHold(in: store, id: id) }
            try await store.setScheduledAction(action(at: 3_000), holdID: "pi_late")
            try await store.setScheduledAction(action(at: 1_000), holdID: "pi_early")
            let running = action(.capture, at: 2_000)
            try await store.setScheduledAction(running, holdID: "pi_running")
            _ = try await store.claimScheduledAction(running, holdID: "pi_running", lease: lease("a", until: 60_000), at: Fixture.time(2_000))
            try expectEqual(try await store.holdsWithDueActions(at: Fixture.time(2_500), limit: 10).map(\.id), ["pi_early", "pi_running"], "due at 2.5 s")
            try expectEqual(try await store.holdsWithDueActions(at: Fixture.time(9_000), limit: 2).map(\.id), ["pi_early", "pi_running"], "limit 2")
            try expectEqual(try await store.holdsWithDueActions(at: Fixture.time(500), limit: 10), [], "nothing due yet")
        },

        HoldStoreCheck("holdsWithPendingActions lists pending actions from other revisions") { store in
            for id in ["pi_old", "pi_new", "pi_running"] { try await Fixture.placeHold(in: store, id: id) }
            try await store.setScheduledAction(action(at: 1_000, revision: "old"), holdID: "pi_old")
            try await store.setScheduledAction(action(at: 1_000, revision: "new"), holdID: "pi_new")
            let running = action(at: 1_000, revision: "old")
            try await store.setScheduledAction(running, holdID: "pi_running")
            _ = try await store.claimScheduledAction(running, holdID: "pi_running", lease: lease("a", until: 60_000), at: Fixture.time(1_000))
            try expectEqual(try await store.holdsWithPendingActions(notFrom: "new", limit: 10).map(\.id), ["pi_old"], "pending actions not from 'new'")
        },
    ]
}
