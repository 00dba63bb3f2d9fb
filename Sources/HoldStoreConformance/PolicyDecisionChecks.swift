import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let policyDecisionChecks: [HoldStoreCheck] = [
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
    ]
}
