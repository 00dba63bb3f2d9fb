import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    /// The hot path (GET one hold): one indexed query on a reader, one row decoded.
    public func hold(id: String) async throws -> Hold? {
        if let cached = holdCache.hold(id: id) { return cached }
        let generation = holdCache.generation
        let hold = try await read("hold(id:)") { db in
            try await db.rows(HoldRow.selectByID, [.text(id)]).first.map(HoldRow.decode)
        }
        if let hold { holdCache.fill(hold, readAtGeneration: generation) }
        return hold
    }

    public func hold(chittyID: String) async throws -> Hold? {
        try await read("hold(chittyID:)") { db in
            try await db.rows(HoldRow.selectByChittyID, [.text(chittyID)]).first.map(HoldRow.decode)
        }
    }

    /// Newest first by (createdAt, id), at most `limit` (at least 1; the route bounds it, and
    /// asks for one more than a page to learn `has_more`, so it must not be clamped to a page
    /// size here). An unknown `startingAfter` throws `notFound` rather than silently
    /// returning nothing.
    public func holds(matching filter: HoldFilter) async throws -> [Hold] {
        let limit = max(filter.limit, 1)
        return try await read("holds(matching:)") { db in
            var conditions: [String] = []
            var binds: [SQLiteData] = []
            if let propertyID = filter.propertyID {
                conditions.append(HoldRow.propertyCondition)
                binds.append(.text(propertyID))
            }
            if let tenantID = filter.tenantID {
                conditions.append(HoldRow.tenantCondition)
                binds.append(.text(tenantID))
            }
            if let status = filter.status {
                conditions.append(HoldRow.statusCondition)
                binds.append(.text(status.rawValue))
            }
            let owners = filter.owners.map { $0.sorted().map(SQLiteData.text) }
            if let owners {
                conditions.append(HoldRow.ownerCondition(owners.count))
                binds += owners
            }
            if let cursor = filter.startingAfter {
                // Holds are never deleted, so the cursor's position cannot move between
                // this read and the next. Another owner's hold is no cursor: it would tell
                // that the hold exists and where it stands.
                let positionSQL = owners.map { HoldRow.selectPosition(ownedByAnyOf: $0.count) } ?? HoldRow.selectPosition
                guard let row = try await db.rows(positionSQL, [.text(cursor)] + (owners ?? [])).first else {
                    throw HoldStoreError.notFound("hold \(cursor) (the startingAfter cursor)")
                }
                let position = RowReader(row: row, table: "holds", keyColumn: "id")
                conditions.append(HoldRow.afterCursorCondition)
                binds.append(.integer(try position.int("created_at")))
                binds.append(.text(try position.string("id")))
            }
            var sql = HoldRow.selectAll
            if !conditions.isEmpty {
                sql += " WHERE " + conditions.joined(separator: " AND ")
            }
            sql += " " + HoldRow.newestFirstWithLimit
            binds.append(.integer(limit))
            return try await db.rows(sql, binds).map(HoldRow.decode)
        }
    }

    public func unsettledHolds(unchangedSince cutoff: Date, limit: Int) async throws -> [Hold] {
        try await read("unsettledHolds") { db in
            try await db.rows(HoldRow.selectUnsettled, [SQLiteData(cutoff), .integer(max(1, limit))]).map(HoldRow.decode)
        }
    }

    public func updateHold(_ hold: Hold) async throws {
        let binds = try HoldRow.binds(for: hold)
        defer { holdCache.invalidate(id: hold.id) }
        try await writeStatement("updateHold") { db in
            try await Self.update(hold, binds: binds, in: db)
        }
    }

    /// Replaces the row of `hold`; throws `notFound` when there is none.
    static func update(_ hold: Hold, binds: [SQLiteData], in db: SQLiteConnection) async throws {
        let updated: [SQLiteRow]
        do {
            updated = try await db.rows(HoldRow.update, binds)
        } catch let error as SQLiteError where error.isUniquenessViolation {
            throw HoldStoreError.conflict("hold \(hold.id): ChittyID \(hold.chittyID ?? "") belongs to another hold")
        }
        if updated.isEmpty {
            throw HoldStoreError.notFound("hold \(hold.id)")
        }
    }
}
