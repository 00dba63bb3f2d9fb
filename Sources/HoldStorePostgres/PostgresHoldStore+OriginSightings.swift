import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

extension PostgresHoldStore {
    static let insertOriginSighting = """
        INSERT INTO origin_sightings (day, origin, first_seen_at, allowed, revision) VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (day, origin) DO NOTHING
        """
    /// Each origin once, with its latest day.
    static let selectOriginSightings = """
        SELECT DISTINCT ON (origin) day, origin, first_seen_at, allowed, revision FROM origin_sightings WHERE day >= $1 \
        ORDER BY origin, day DESC
        """

    public func recordOriginSighting(_ sighting: OriginSighting) async throws {
        let values: [PostgresValue] = [
            .text(sighting.day), .text(sighting.origin), .date(sighting.firstSeenAt), .integer(sighting.allowed ? 1 : 0),
            .text(sighting.revision),
        ]
        try await writeStatement("recordOriginSighting") { db in
            _ = try await db.rows(Self.insertOriginSighting, values, logger: self.logger)
        }
    }

    public func originSightings(since: Date?, limit: Int) async throws -> [OriginSighting] {
        let day = since.map(OriginSighting.day(of:)) ?? ""
        let rows = try await read("originSightings") { db in
            try await db.rows(Self.selectOriginSightings, [.text(day)], logger: self.logger).map {
                try PostgresRowReader($0, table: "origin_sightings", keyColumn: "origin").originSighting()
            }
        }
        // Newest day first, then by origin, as the SQLite store answers.
        return Array(rows.sorted { ($0.day, $1.origin) > ($1.day, $0.origin) }.prefix(limit))
    }
}
