import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static func sighting(_ origin: String, day: String, allowed: Bool = true, at offset: Int = 0) -> OriginSighting {
        OriginSighting(day: day, origin: origin, firstSeenAt: Fixture.time(offset), allowed: allowed, revision: "rev-\(day)")
    }

    static let originSightingLogChecks: [HoldStoreCheck] = [
        HoldStoreCheck("recordOriginSighting keeps the first sighting of an origin each day") { store in
            try await store.recordOriginSighting(sighting("https://a.example", day: "2026-07-01", allowed: true, at: 1))
            try await store.recordOriginSighting(sighting("https://a.example", day: "2026-07-01", allowed: false, at: 2))
            let listed = try await store.originSightings(since: nil, limit: 10)
            try expectEqual(listed, [sighting("https://a.example", day: "2026-07-01", allowed: true, at: 1)], "one row, the first")
        },

        HoldStoreCheck("originSightings lists each origin once with its latest day, newest day first, from since's day") { store in
            try await store.recordOriginSighting(sighting("https://a.example", day: "2026-07-01"))
            try await store.recordOriginSighting(sighting("https://a.example", day: "2026-07-03", allowed: false))
            try await store.recordOriginSighting(sighting("https://b.example", day: "2026-07-02"))
            try await store.recordOriginSighting(sighting("https://c.example", day: "2026-06-30"))
            let all = try await store.originSightings(since: nil, limit: 10)
            try expectEqual(all.map(\.origin), ["https://a.example", "https://b.example", "https://c.example"], "order")
            try expectEqual(all.first?.day, "2026-07-03", "the latest day")
            try expectEqual(all.first?.allowed, false, "as decided on the latest day")
            let since = Date(timeIntervalSince1970: 1_782_950_400)  // 2026-07-02T00:00:00Z
            try expectEqual(try await store.originSightings(since: since, limit: 10).map(\.origin), ["https://a.example", "https://b.example"], "since")
            try expectEqual(try await store.originSightings(since: nil, limit: 1).map(\.origin), ["https://a.example"], "limit")
        },
    ]
}
