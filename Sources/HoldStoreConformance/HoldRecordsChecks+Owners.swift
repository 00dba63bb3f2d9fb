import ChittyCharge
import Foundation

/// Tenant isolation rests on these: a hold keeps the owner it was stored with, and a list
/// restricted to some owners shows nothing of anyone else's, not even through its cursor.
extension HoldStoreConformance {
    static let holdOwnerChecks: [HoldStoreCheck] = [
        HoldStoreCheck("a hold is read back with the owner it was stored with") { store in
            try await Fixture.placeHold(in: store, id: "pi_1", client: "kiosk", owner: "frontdesk", chittyID: "CHITTY-AUTH-1")
            try expectEqual(try await store.hold(id: "pi_1")?.owner, "frontdesk", "owner by id")
            try expectEqual(try await store.hold(chittyID: "CHITTY-AUTH-1")?.owner, "frontdesk", "owner by ChittyID")
            try expectEqual(try await store.holds(matching: HoldFilter()).map(\.owner), ["frontdesk"], "owner in a list")
            try expectEqual(try await store.hold(id: "pi_1")?.client, "kiosk", "the client that placed it is kept apart")
        },

        HoldStoreCheck("updateHold keeps the owner the hold was stored with") { store in
            var hold = try await Fixture.placeHold(in: store, id: "pi_1", client: "alice")
            hold.owner = "mallory"
            hold.status = .succeeded
            try await store.updateHold(hold)
            let stored = try await store.hold(id: "pi_1")
            try expectEqual(stored?.status, .succeeded, "status after updateHold")
            try expectEqual(stored?.owner, "alice", "owner after updateHold")
            try expectEqual(try await store.holds(matching: HoldFilter(owners: ["mallory"])), [], "holds of the would-be owner")
        },

        HoldStoreCheck("holds(matching:) with owners lists only their holds") { store in
            try await placeOwnersFixture(in: store)
            try expectEqual(try await store.holds(matching: HoldFilter(owners: ["alice"])).map(\.id), ["pi_3", "pi_1"], "alice's")
            try expectEqual(
                try await store.holds(matching: HoldFilter(owners: ["alice", "carol"])).map(\.id), ["pi_4", "pi_3", "pi_1"],
                "alice's and carol's")
            try expectEqual(try await store.holds(matching: HoldFilter(owners: [])), [], "no owners, no holds")
            try expectEqual(try await store.holds(matching: HoldFilter(owners: ["nobody"])), [], "an owner with no holds")
            try expectEqual(
                try await store.holds(matching: HoldFilter(status: .canceled, owners: ["alice", "bob"])).map(\.id), ["pi_2"],
                "owners with another filter")
            try expectEqual(try await store.holds(matching: HoldFilter()).count, 4, "no owners filter: every hold")
        },

        HoldStoreCheck("holds(matching:) with owners pages by their holds and refuses another owner's cursor") { store in
            try await placeOwnersFixture(in: store)
            let firstPage = try await store.holds(matching: HoldFilter(owners: ["alice"], limit: 1))
            try expectEqual(firstPage.map(\.id), ["pi_3"], "alice's first page")
            try expectEqual(
                try await store.holds(matching: HoldFilter(owners: ["alice"], limit: 1, startingAfter: "pi_3")).map(\.id), ["pi_1"],
                "alice's second page")
            for cursor in ["pi_2", "pi_4"] {
                try await expectStoreError("alice's list after \(cursor), not hers", matching: \.isNotFound) {
                    try await store.holds(matching: HoldFilter(owners: ["alice"], startingAfter: cursor))
                }
            }
            try await expectStoreError("a list with no owners after any cursor", matching: \.isNotFound) {
                try await store.holds(matching: HoldFilter(owners: [], startingAfter: "pi_1"))
            }
        },
    ]

    /// pi_1 alice (requires_capture), pi_2 bob (canceled), pi_3 alice, pi_4 carol; newest last.
    private static func placeOwnersFixture(in store: any HoldStore) async throws {
        try await Fixture.placeHold(in: store, id: "pi_1", client: "alice", createdAt: Fixture.time(1))
        try await Fixture.placeHold(in: store, id: "pi_2", client: "bob", status: .canceled, createdAt: Fixture.time(2))
        try await Fixture.placeHold(in: store, id: "pi_3", client: "alice", createdAt: Fixture.time(3))
        try await Fixture.placeHold(in: store, id: "pi_4", client: "carol", createdAt: Fixture.time(4))
    }
}
