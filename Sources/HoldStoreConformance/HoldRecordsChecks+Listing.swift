import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let holdListingChecks: [HoldStoreCheck] = [
        HoldStoreCheck("holds(matching:) lists newest first, ties by id descending") { store in
            // Placed out of order, with three holds sharing one createdAt.
            try await Fixture.placeHold(in: store, id: "pi_b", createdAt: Fixture.time(5))
            try await Fixture.placeHold(in: store, id: "pi_old", createdAt: Fixture.time(0))
            try await Fixture.placeHold(in: store, id: "pi_new", createdAt: Fixture.time(10))
            try await Fixture.placeHold(in: store, id: "pi_c", createdAt: Fixture.time(5))
            try await Fixture.placeHold(in: store, id: "pi_mid", createdAt: Fixture.time(2))
            try await Fixture.placeHold(in: store, id: "pi_a", createdAt: Fixture.time(5))
            try expectEqual(
                try await store.holds(matching: HoldFilter()).map(\.id),
                ["pi_new", "pi_c", "pi_b", "pi_a", "pi_mid", "pi_old"],
                "order of holds(matching:)")
        },

        HoldStoreCheck("holds(matching:) filters by propertyID") { store in
            try await placeFilterFixture(in: store)
            try expectEqual(
                try await store.holds(matching: HoldFilter(propertyID: "prop-a")).map(\.id), ["pi_2", "pi_1"],
                "holds of property prop-a")
        },

        HoldStoreCheck("holds(matching:) filters by tenantID") { store in
            try await placeFilterFixture(in: store)
            try expectEqual(
                try await store.holds(matching: HoldFilter(tenantID: "tenant-x")).map(\.id), ["pi_3", "pi_1"],
                "holds of tenant tenant-x")
        },

        HoldStoreCheck("holds(matching:) filters by status") { store in
            try await placeFilterFixture(in: store)
            try expectEqual(
                try await store.holds(matching: HoldFilter(status: .requiresCapture)).map(\.id), ["pi_3", "pi_1"],
                "holds with status requires_capture")
            try expectEqual(
                try await store.holds(matching: HoldFilter(status: .canceled)).map(\.id), ["pi_2"],
                "holds with status canceled")
        },

        HoldStoreCheck("holds(matching:) combines filters with AND") { store in
            try await placeFilterFixture(in: store)
            try expectEqual(
                try await store.holds(matching: HoldFilter(propertyID: "prop-a", tenantID: "tenant-x")).map(\.id), ["pi_1"],
                "property prop-a and tenant tenant-x")
            try expectEqual(
                try await store.holds(matching: HoldFilter(status: .requiresCapture, owners: ["kiosk"])).map(\.id), ["pi_3"],
                "status requires_capture and owner kiosk")
            try expectEqual(
                try await store.holds(matching: HoldFilter(propertyID: "prop-b", owners: ["frontdesk"])), [],
                "a combination no hold matches")
        },

        // Not clamped to a page of 100: the route asks for a page plus one to learn has_more.
        HoldStoreCheck("holds(matching:) returns at most limit holds, at least 1") { store in
            for index in 0..<101 {
                try await Fixture.placeHold(in: store, id: String(format: "pi_%03d", index), createdAt: Fixture.time(index))
            }
            let three = try await store.holds(matching: HoldFilter(limit: 3))
            try expectEqual(three.map(\.id), ["pi_100", "pi_099", "pi_098"], "limit 3")
            try expectEqual(try await store.holds(matching: HoldFilter(limit: 0)).map(\.id), ["pi_100"], "limit 0 clamps to 1")
            try expectEqual(try await store.holds(matching: HoldFilter(limit: -7)).count, 1, "a negative limit clamps to 1")
            try expectEqual(try await store.holds(matching: HoldFilter(limit: 101)).count, 101, "limit 101 (a page of 100 and one more)")
            try expectEqual(try await store.holds(matching: HoldFilter(limit: 1_000)).count, 101, "limit 1000 with 101 holds")
            try expectEqual(try await store.holds(matching: HoldFilter(limit: 100)).count, 100, "limit 100")
        },

        HoldStoreCheck("holds(matching:) pages with startingAfter through every hold exactly once") { store in
            var placed: [Hold] = []
            for index in 0..<25 {
                // Ids shuffled against insertion order; createdAt in groups of three.
                let id = String(format: "pi_%02d", (index * 7) % 25)
                placed.append(try await Fixture.placeHold(
                    in: store, id: id, propertyID: index % 2 == 0 ? "prop-even" : "prop-odd", createdAt: Fixture.time(index / 3)))
            }
            let newestFirst = placed.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
            try expectEqual(try await pageThrough(store, HoldFilter(limit: 4)), newestFirst, "pages of 4 over all holds")
            try expectEqual(
                try await pageThrough(store, HoldFilter(propertyID: "prop-even", limit: 3)),
                newestFirst.filter { id in placed.first { $0.id == id }?.propertyID == "prop-even" },
                "pages of 3 over property prop-even")
        },

        HoldStoreCheck("holds(matching:) with an unknown startingAfter throws notFound") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            try await expectStoreError("holds(matching:) after an unknown cursor", matching: \.isNotFound) {
                try await store.holds(matching: HoldFilter(startingAfter: "pi_unknown"))
            }
        },
    ]

    /// Four holds, newest last: pi_1 (prop-a, tenant-x, requires_capture, frontdesk),
    /// pi_2 (prop-a, tenant-y, canceled, kiosk), pi_3 (prop-b, tenant-x, requires_capture,
    /// kiosk), pi_4 (no property or tenant, succeeded, frontdesk).
    private static func placeFilterFixture(in store: any HoldStore) async throws {
        try await Fixture.placeHold(
            in: store, id: "pi_1", client: "frontdesk", status: .requiresCapture, propertyID: "prop-a", tenantID: "tenant-x",
            createdAt: Fixture.time(1))
        try await Fixture.placeHold(
            in: store, id: "pi_2", client: "kiosk", status: .canceled, propertyID: "prop-a", tenantID: "tenant-y",
            createdAt: Fixture.time(2))
        try await Fixture.placeHold(
            in: store, id: "pi_3", client: "kiosk", status: .requiresCapture, propertyID: "prop-b", tenantID: "tenant-x",
            createdAt: Fixture.time(3))
        try await Fixture.placeHold(
            in: store, id: "pi_4", client: "frontdesk", status: .succeeded, createdAt: Fixture.time(4))
    }

    /// Follows `startingAfter` from the first page to the end, failing on a repeated hold
    /// (which would otherwise page forever).
    private static func pageThrough(_ store: any HoldStore, _ filter: HoldFilter) async throws -> [String] {
        var seen: [String] = []
        var filter = filter
        while true {
            let page = try await store.holds(matching: filter)
            try expect(page.count <= filter.limit, "a page has \(page.count) holds, more than the limit \(filter.limit)")
            for hold in page {
                try expect(!seen.contains(hold.id), "hold \(hold.id) came back on two pages")
                seen.append(hold.id)
            }
            guard let last = page.last else { return seen }
            filter.startingAfter = last.id
        }
    }
}
