import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let holdRecordsChecks: [HoldStoreCheck] = [
        HoldStoreCheck("hold(id:) returns nil for an unknown id") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            try expectEqual(try await store.hold(id: "pi_unknown"), nil, "hold(id:) of an unknown id")
        },

        HoldStoreCheck("hold(chittyID:) finds the hold with that ChittyID") { store in
            let minted = try await Fixture.placeHold(in: store, id: "pi_1", chittyID: "CHITTY-AUTH-1")
            try await Fixture.placeHold(in: store, id: "pi_2")
            try expectEqual(try await store.hold(chittyID: "CHITTY-AUTH-1"), minted, "hold(chittyID:) of a created-with id")
            try await store.recordMinted(holdID: "pi_2", chittyID: "CHITTY-AUTH-2", at: Fixture.time(5))
            try expectEqual(try await store.hold(chittyID: "CHITTY-AUTH-2")?.id, "pi_2", "hold(chittyID:) of a minted id")
            try expectEqual(try await store.hold(chittyID: "CHITTY-AUTH-404"), nil, "hold(chittyID:) of an unknown id")
        },

        HoldStoreCheck("updateHold replaces every field of the stored hold") { store in
            let placed = try await Fixture.placeHold(in: store, id: "pi_1", propertyID: "prop-1", tenantID: "tenant-1")
            var updated = placed
            updated.status = .succeeded
            updated.amount = 13_000
            updated.amountCapturable = 0
            updated.amountReceived = 12_000
            updated.currency = "eur"
            updated.description = "Deposit, partly captured"
            updated.customerEmail = nil
            updated.propertyID = "prop-2"
            updated.tenantID = nil
            updated.metadata = ["unit": "5C", "reason": "damage"]
            updated.clientSecret = nil
            updated.tier = "premium"
            updated.tierLimit = 100_000
            updated.policyRevision = "rev-2"
            updated.updatedAt = Fixture.time(60_000)
            updated.captureBefore = nil
            updated.capturedAt = Fixture.time(60_000)
            updated.canceledAt = Fixture.time(61_000)
            try await store.updateHold(updated)

            try expectEqual(try await store.hold(id: "pi_1"), updated, "hold(id:) after updateHold")
            try expectEqual(
                try await store.holds(matching: HoldFilter(status: .succeeded)).map(\.id), ["pi_1"],
                "the status filter after updateHold")
            try expectEqual(
                try await store.holds(matching: HoldFilter(propertyID: "prop-1")), [],
                "the old property after updateHold")
        },

        HoldStoreCheck("updateHold of an unknown hold throws notFound") { store in
            let hold = Fixture.hold(id: "pi_missing", operationKey: "op-missing")
            try await expectStoreError("updateHold of an unknown hold", matching: \.isNotFound) {
                try await store.updateHold(hold)
            }
            try expectEqual(try await store.hold(id: "pi_missing"), nil, "updateHold must not insert")
        },
        HoldStoreCheck("unsettledHolds lists quiet holds not captured or released, least recently changed first") { store in
        var quiet = try await Fixture.placeHold(in: store, id: "pi_quiet", status: .requiresPaymentMethod, createdAt: Fixture.time(0))
        quiet.updatedAt = Fixture.time(1_000)
        try await store.updateHold(quiet)
        var older = try await Fixture.placeHold(in: store, id: "pi_older", status: .requiresCapture, createdAt: Fixture.time(0))
        older.updatedAt = Fixture.time(500)
        try await store.updateHold(older)
        var recent = try await Fixture.placeHold(in: store, id: "pi_recent", status: .requiresCapture, createdAt: Fixture.time(0))
        recent.updatedAt = Fixture.time(9_000)
        try await store.updateHold(recent)
        var settled = try await Fixture.placeHold(in: store, id: "pi_settled", status: .succeeded, createdAt: Fixture.time(0))
        settled.updatedAt = Fixture.time(100)
        try await store.updateHold(settled)
        try expectEqual(try await store.unsettledHolds(unchangedSince: Fixture.time(2_000), limit: 10).map(\.id), ["pi_older", "pi_quiet"], "quiet unsettled holds")
        try expectEqual(try await store.unsettledHolds(unchangedSince: Fixture.time(2_000), limit: 1).map(\.id), ["pi_older"], "limit 1")
    },
]
}
