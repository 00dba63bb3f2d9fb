import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let chittyIDOutboxChecks: [HoldStoreCheck] = [
        HoldStoreCheck("claimMintJobs returns due jobs oldest first and leaves out jobs not yet due") { store in
            try await placeThreeUnminted(in: store)
            try expectEqual(try await Fixture.outboxDepth(store), 3, "mintJobCount")
            try expectEqual(try await store.claimMintJobs(at: Fixture.time(999), leaseUntil: Fixture.time(60_000), limit: 10), [],
                            "jobs due before the first")
            try expectEqual(
                try await store.claimMintJobs(at: Fixture.time(2_000), leaseUntil: Fixture.time(60_000), limit: 1),
                [job("pi_1", at: 1_000)], "limit 1")
            try expectEqual(
                try await store.claimMintJobs(at: Fixture.time(2_000), leaseUntil: Fixture.time(60_000), limit: 10),
                [job("pi_2", at: 2_000)], "jobs due at t+2s, but for the one claimed already")
        },

        HoldStoreCheck("a claimed job is not claimed again before its lease ends, then it is") { store in
            try await placeThreeUnminted(in: store)
            let claimed = try await store.claimMintJobs(at: Fixture.time(3_000), leaseUntil: Fixture.time(60_000), limit: 10)
            try expectEqual(claimed.map(\.holdID), ["pi_1", "pi_2", "pi_3"], "the first claim")
            try expectEqual(try await store.claimMintJobs(at: Fixture.time(59_999), leaseUntil: Fixture.time(120_000), limit: 10), [],
                            "a second claim while the lease runs")
            try expectEqual(
                try await store.claimMintJobs(at: Fixture.time(60_000), leaseUntil: Fixture.time(120_000), limit: 10).map(\.holdID),
                ["pi_1", "pi_2", "pi_3"], "a claim once the lease is over (its claimer died)")
            try expectEqual(try await Fixture.outboxDepth(store), 3, "claiming removes no job")
        },

        HoldStoreCheck("concurrent claimMintJobs calls never hand out one job twice") { store in
            for index in 0..<20 {
                try await Fixture.placeHold(in: store, id: "pi_\(index)", createdAt: Fixture.time(index))
            }
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await store.claimMintJobs(at: Fixture.time(1_000), leaseUntil: Fixture.time(60_000), limit: 3).map(\.holdID)
                    }
                }
                var all: [String] = []
                for try await claim in group { all += claim }
                return all
            }
            try expectEqual(claims.count, Set(claims).count, "jobs handed out more than once: \(claims.sorted())")
            try expectEqual(Set(claims).count, 20, "every job handed out once")
        },

        HoldStoreCheck("rescheduleMint updates attempts, next attempt and last error") { store in
            try await placeThreeUnminted(in: store)
            let retried = ChittyIDMintJob(holdID: "pi_1", attempts: 1, nextAttemptAt: Fixture.time(10_000), lastError: "minter timed out")
            try await store.rescheduleMint(retried)
            try expectEqual(
                try await store.claimMintJobs(at: Fixture.time(3_000), leaseUntil: Fixture.time(3_000), limit: 10),
                [job("pi_2", at: 2_000), job("pi_3", at: 3_000)],
                "jobs due before the rescheduled attempt")
            try expectEqual(
                try await store.claimMintJobs(at: Fixture.time(10_000), leaseUntil: Fixture.time(10_000), limit: 10),
                [job("pi_2", at: 3_000), job("pi_3", at: 3_000), retried],
                "jobs due at the rescheduled attempt (the others as the first claim left them)")
            try expectEqual(try await Fixture.outboxDepth(store), 3, "mintJobCount after rescheduling")
        },

        HoldStoreCheck("recordMinted sets the ChittyID and removes the job") { store in
            try await placeThreeUnminted(in: store)
            try await store.recordMinted(holdID: "pi_2", chittyID: "CHITTY-AUTH-2", at: Fixture.time(4_000))

            let hold = try unwrap(try await store.hold(id: "pi_2"), "hold pi_2 after recordMinted")
            try expectEqual(hold.chittyID, "CHITTY-AUTH-2", "chittyID after recordMinted")
            try expectEqual(hold.chittyIDStatus, .minted, "chittyIDStatus after recordMinted")
            try expectEqual(try await store.hold(chittyID: "CHITTY-AUTH-2")?.id, "pi_2", "hold(chittyID:) after recordMinted")
            try expectEqual(try await Fixture.outboxDepth(store), 2, "mintJobCount after recordMinted")
            try expectEqual(
                try await store.claimMintJobs(at: Fixture.time(10_000), leaseUntil: Fixture.time(10_000), limit: 10).map(\.holdID), ["pi_1", "pi_3"],
                "jobs left after recordMinted")
            let other = try unwrap(try await store.hold(id: "pi_1"), "hold pi_1")
            try expectEqual(other.chittyIDStatus, .pending, "another hold's chittyIDStatus")
            try expectEqual(other.chittyID, nil, "another hold's chittyID")
        },
    ]

    /// Holds pi_3, pi_1, pi_2 (in that order) completed at t+3s, t+1s and t+2s, none minted.
    private static func placeThreeUnminted(in store: any HoldStore) async throws {
        for (id, offset) in [("pi_3", 3_000), ("pi_1", 1_000), ("pi_2", 2_000)] {
            try await Fixture.placeHold(in: store, id: id, createdAt: Fixture.time(offset))
        }
    }

    private static func job(_ holdID: String, at offset: Int) -> ChittyIDMintJob {
        ChittyIDMintJob(holdID: holdID, attempts: 0, nextAttemptAt: Fixture.time(offset), lastError: nil)
    }
}
