import ChittyCharge
import Foundation
import HoldStoreColumns
import SQLiteNIO

extension SQLiteHoldStore {
    static let insertOriginSighting = """
        INSERT INTO origin_sightings (day, origin, first_seen_at, allowed, revision) VALUES (?, ?, ?, ?, ?) \
        ON CONFLICT (day, origin) DO NOTHING
        """
    /// Each origin once, with its latest day (SQLite returns the row of the MAX).
    static let selectOriginSightings = """
        SELECT day, origin, first_seen_at, allowed, revision, MAX(day) FROM origin_sightings WHERE day >= ? \
        GROUP BY origin ORDER BY day DESC, origin LIMIT ?
        """

    public func recordOriginSighting(_ sighting: OriginSighting) async throws {
        let binds: [SQLiteData] = [
            .text(sighting.day), .text(sighting.origin), SQLiteData(sighting.firstSeenAt), .integer(sighting.allowed ? 1 : 0),
            .text(sighting.revision),
        ]
        try await write("recordOriginSighting") { db in try await db.execute(Self.insertOriginSighting, binds) }
    }

    public func originSightings(since: Date?, limit: Int) async throws -> [OriginSighting] {
        let day = since.map(OriginSighting.day(of:)) ?? ""
        return try await read("originSightings") { db in
            try await db.rows(Self.selectOriginSightings, [.text(day), .integer(limit)]).map {
                try RowReader(row: $0, table: "origin_sightings", keyColumn: "origin").originSighting()
            }
        }
    }
}
