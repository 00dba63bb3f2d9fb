import ChittyCharge
import Foundation

/// The scheduled-action queue's claim: an owner and a lease, so two schedulers (two
/// processes over one database) never run one action at once, and a crashed one's action
/// is taken over once its lease runs out.
extension HoldStoreConformance {
    static func outcome(_ id: String, holdID: String?, at offset: Int) -> WebhookEventRecord {
        WebhookEventRecord(
            id: id, type: "chittycharge.scheduled_release", created: Fixture.time(offset),
            payload: Data(#"{"revision":"rev-1"}"#.utf8), holdID: holdID, outcome: .applied, receivedAt: Fixture.time(offset))
    }

    static let scheduledActionLeaseChecks: [HoldStoreCheck] = [
        HoldStoreCheck("claimScheduledAction claims a pending action only once it is due") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let release = action(at: 5_000)
            try await store.setScheduledAction(release, holdID: "pi_1")
            try expectEqual(try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("a", until: 60_000), at: Fixture.time(4_999)),
                            false, "a claim before the action is due")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, release, "the action after a claim too early")
            try expectEqual(try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("a", until: 60_000), at: Fixture.time(5_000)),
                            true, "a claim at the action's time")
        },

        HoldStoreCheck("a running action under another owner's live lease is left alone; its owner may claim it again") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let capture = action(.capture, at: 5_000, amount: 2_500)
            try await store.setScheduledAction(capture, holdID: "pi_1")
            try expectEqual(try await store.claimScheduledAction(capture, holdID: "pi_1", lease: lease("a", until: 65_000), at: Fixture.time(5_000)),
                            true, "a's claim")
            try expectEqual(try await store.claimScheduledAction(capture, holdID: "pi_1", lease: lease("b", until: 125_000), at: Fixture.time(64_999)),
                            false, "b's claim while a's lease lasts")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction?.lease, lease("a", until: 65_000), "the lease after b's claim")
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_1", owner: "b", outcome: outcome("sched_b", holdID: "pi_1", at: 64_999)),
                            false, "b finishing a's action")
            try expectEqual(try await store.webhookEvents(holdID: "pi_1"), [], "outcomes recorded by b")
            // a tries again (its run did not finish): the lease is renewed.
            try expectEqual(try await store.claimScheduledAction(capture, holdID: "pi_1", lease: lease("a", until: 90_000), at: Fixture.time(30_000)),
                            true, "a's claim again")
            var running = capture
            running.state = .running
            running.lease = lease("a", until: 90_000)
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, running, "the action with a's renewed lease")
        },

        HoldStoreCheck("an expired lease is taken over, and then only the new owner finishes the action") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let release = action(at: 5_000)
            try await store.setScheduledAction(release, holdID: "pi_1")
            _ = try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("a", until: 65_000), at: Fixture.time(5_000))
            try expectEqual(try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("b", until: 125_000), at: Fixture.time(65_000)),
                            true, "b's claim when a's lease ends")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction?.lease, lease("b", until: 125_000), "the lease after the takeover")
            try expectEqual(try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("a", until: 130_000), at: Fixture.time(70_000)),
                            false, "a's claim once b holds it")
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_1", owner: "a", outcome: outcome("sched_a", holdID: "pi_1", at: 70_000)),
                            false, "a finishing after the takeover")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction?.state, .running, "the action after a's finish")
            let finished = outcome("sched_b", holdID: "pi_1", at: 80_000)
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_1", owner: "b", outcome: finished), true, "b finishing")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, nil, "the action after b's finish")
            try expectEqual(try await store.webhookEvents(holdID: "pi_1"), [finished], "the recorded outcomes")
        },

        HoldStoreCheck("finishScheduledAction needs a claim: not for a pending action, and once only") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let release = action(at: 5_000)
            try await store.setScheduledAction(release, holdID: "pi_1")
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_1", owner: "a", outcome: outcome("sched_1", holdID: "pi_1", at: 6_000)),
                            false, "finishing an action nobody claimed")
            try expectEqual(try await store.hold(id: "pi_1")?.scheduledAction, release, "the unclaimed action after that")
            _ = try await store.claimScheduledAction(release, holdID: "pi_1", lease: lease("a", until: 65_000), at: Fixture.time(5_000))
            let finished = outcome("sched_2", holdID: "pi_1", at: 7_000)
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_1", owner: "a", outcome: finished), true, "the owner finishing")
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_1", owner: "a", outcome: outcome("sched_3", holdID: "pi_1", at: 8_000)),
                            false, "finishing twice")
            try expectEqual(try await store.webhookEvents(holdID: "pi_1"), [finished], "the recorded outcomes")
            try expectEqual(try await store.finishScheduledAction(holdID: "pi_missing", owner: "a", outcome: outcome("sched_4", holdID: nil, at: 8_000)),
                            false, "finishing for an unknown hold")
        },
    ]
}
