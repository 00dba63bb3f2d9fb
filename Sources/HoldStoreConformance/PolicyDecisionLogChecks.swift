import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let policyDecisionLogChecks: [HoldStoreCheck] = [
        HoldStoreCheck("decisions are recorded and listed by subject in time order") { store in
            func decision(_ id: String, subject: String?, at offset: Int, input: Data = Data(#"{"amount":12500}"#.utf8)) -> PolicyDecisionRecord {
                PolicyDecisionRecord(
                    id: id, hook: "hold_limit", revision: "rev-1", source: "policy", input: input,
                    decision: Data(#"{"allow":true,"tier":"standard"}"#.utf8), subject: subject, createdAt: Fixture.time(offset))
            }
            // Recorded out of time order; one with an empty input, which must stay empty.
            let late = decision("d-late", subject: "op-1", at: 500)
            let early = decision("d-early", subject: "op-1", at: 100, input: Data())
            let middle = decision("d-middle", subject: "op-1", at: 300)
            let other = decision("d-other", subject: "pi_9", at: 200)
            let unattached = decision("d-none", subject: nil, at: 400)
            for record in [late, early, middle, other, unattached] {
                try await store.recordDecision(record)
            }
            try expectEqual(try await store.decisions(subject: "op-1"), [early, middle, late], "decisions about op-1")
            try expectEqual(try await store.decisions(subject: "pi_9"), [other], "decisions about pi_9")
            try expectEqual(try await store.decisions(subject: "nobody"), [], "decisions about an unknown subject")
        },
        HoldStoreCheck("decisions are paged in time order from a date, ties by id, for backtests") { store in
            func decision(_ id: String, hook: String = "hold_limit", at offset: Int, subject: String? = "op-1") -> PolicyDecisionRecord {
                PolicyDecisionRecord(
                    id: id, hook: hook, revision: "rev-\(offset)", source: "policy", input: Data(#"{"amount":\#(offset)}"#.utf8),
                    decision: Data(#"{"allow":true}"#.utf8), subject: subject, createdAt: Fixture.time(offset))
            }
            try expectEqual(try await store.decisions(since: nil, after: nil, limit: 10), [], "an empty store's decisions")
            // Recorded out of order; three share one millisecond and are told apart by id.
            let tieB = decision("d-tie-b", at: 200)
            let tieA = decision("d-tie-a", hook: "hold_schedule", at: 200, subject: "pi_1")
            let tieC = decision("d-tie-c", at: 200, subject: nil)
            let first = decision("d-first", at: 100)
            let last = decision("d-last", at: 400)
            let middle = PolicyDecisionRecord(
                id: "d-middle", hook: "hold_limit", revision: "rev-300", source: "fail_closed", input: Data(),
                decision: Data(#"{"allow":false}"#.utf8), subject: "op-2", createdAt: Fixture.time(300))
            for record in [tieB, last, tieA, middle, first, tieC] {
                try await store.recordDecision(record)
            }
            let ordered = [first, tieA, tieB, tieC, middle, last]
            try expectEqual(try await store.decisions(since: nil, after: nil, limit: 100), ordered, "every decision in time order")

            var paged: [PolicyDecisionRecord] = []
            var cursor: PolicyDecisionCursor?
            for _ in 0..<ordered.count + 1 {
                let page = try await store.decisions(since: nil, after: cursor, limit: 2)
                if page.isEmpty { break }
                try expect(page.count <= 2, "a page of at most 2 has \(page.count)")
                paged += page
                cursor = PolicyDecisionCursor(after: page[page.count - 1])
            }
            try expectEqual(paged.map(\.id), ordered.map(\.id), "pages of 2 walked with the cursor")

            try expectEqual(try await store.decisions(since: Fixture.time(200), after: nil, limit: 100).map(\.id),
                            ["d-tie-a", "d-tie-b", "d-tie-c", "d-middle", "d-last"], "decisions since a time (inclusive)")
            try expectEqual(try await store.decisions(since: Fixture.time(201), after: nil, limit: 100).map(\.id),
                            ["d-middle", "d-last"], "decisions since a time between two")
            try expectEqual(try await store.decisions(since: Fixture.time(401), after: nil, limit: 100), [], "decisions since after the last")
            try expectEqual(try await store.decisions(since: Fixture.time(100), after: PolicyDecisionCursor(after: tieA), limit: 100).map(\.id),
                            ["d-tie-b", "d-tie-c", "d-middle", "d-last"], "a cursor later than since, inside a tie")
            try expectEqual(try await store.decisions(since: Fixture.time(300), after: PolicyDecisionCursor(after: first), limit: 100).map(\.id),
                            ["d-middle", "d-last"], "a since later than the cursor")
            try expectEqual(try await store.decisions(since: nil, after: PolicyDecisionCursor(after: last), limit: 100), [], "after the last decision")
            try expectEqual(try await store.decisions(since: nil, after: nil, limit: 0), [first], "a limit below 1 gives one decision")
        },
    ]
}
