import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let clusterRegistryChecks: [HoldStoreCheck] = [
        HoldStoreCheck("recordHeartbeat replaces an instance's row; instances lists those heard from since a time") { store in
            let first = InstanceHeartbeat(id: "b", address: "host-b:8787", startedAt: Fixture.time(0), heartbeatAt: Fixture.time(1_000),
                                          activeRevision: "rev1", revisionProblem: nil)
            let other = InstanceHeartbeat(id: "a", address: "host-a:8787", startedAt: Fixture.time(0), heartbeatAt: Fixture.time(5_000),
                                          activeRevision: "rev1", revisionProblem: nil)
            try await store.recordHeartbeat(first)
            try await store.recordHeartbeat(other)
            var later = first
            later.heartbeatAt = Fixture.time(6_000)
            later.activeRevision = "rev0"
            later.revisionProblem = "rev1 does not load here"
            try await store.recordHeartbeat(later)
            try expectEqual(try await store.instances(heartbeatSince: Fixture.time(0)), [other, later], "every instance, by id")
            try expectEqual(try await store.instances(heartbeatSince: Fixture.time(5_500)), [later], "those heard from since t+5.5s")
        },

        HoldStoreCheck("claimLease: free, held by another until it expires, renewable by its owner") { store in
            try expectEqual(try await store.claimLease("recovery", owner: "a", until: Fixture.time(10_000), at: Fixture.time(0)), true,
                            "a free lease")
            try expectEqual(try await store.claimLease("recovery", owner: "b", until: Fixture.time(20_000), at: Fixture.time(5_000)), false,
                            "another owner's live lease")
            try expectEqual(try await store.claimLease("reconciliation", owner: "b", until: Fixture.time(20_000), at: Fixture.time(5_000)),
                            true, "another chore's lease")
            try expectEqual(try await store.claimLease("recovery", owner: "a", until: Fixture.time(15_000), at: Fixture.time(9_000)), true,
                            "the owner renews")
            try expectEqual(try await store.claimLease("recovery", owner: "b", until: Fixture.time(30_000), at: Fixture.time(14_999)), false,
                            "before the renewed lease ends")
            try expectEqual(try await store.claimLease("recovery", owner: "b", until: Fixture.time(30_000), at: Fixture.time(15_000)), true,
                            "once it has expired")
        },

        HoldStoreCheck("concurrent claimLease calls give the lease to exactly one owner") { store in
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await store.claimLease("reconciliation", owner: "instance-\(index)", until: Fixture.time(60_000), at: Fixture.time(0))
                    }
                }
                var count = 0
                for try await won in group where won { count += 1 }
                return count
            }
            try expectEqual(winners, 1, "owners holding the lease")
        },
    ]
}
