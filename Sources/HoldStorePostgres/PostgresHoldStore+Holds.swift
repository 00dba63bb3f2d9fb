import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

extension PostgresHoldStore {
    /// The hot path (GET one hold): a statement each connection prepares once, so the
    /// server neither parses nor plans it again.
    public func hold(id: String) async throws -> Hold? {
        try await read("hold(id:)") { db in
            var found: Hold?
            for try await row in try await db.execute(HoldByID(id: id), logger: self.logger) {
                found = try PostgresHoldRow.decode(row)
            }
            return found
        }
    }

    public func hold(chittyID: String) async throws -> Hold? {
        try await read("hold(chittyID:)") { db in
            try await db.rows(PostgresHoldRow.selectByChittyID, [.text(chittyID)], logger: self.logger).first.map(PostgresHoldRow.decode)
        }
    }

    /// Newest first by (createdAt, id), at most `limit`; an unknown (or another owner's)
    /// `startingAfter` throws `notFound`.
    public func holds(matching filter: HoldFilter) async throws -> [Hold] {
        let owners = filter.owners.map { $0.sorted() }
        return try await read("holds(matching:)") { db in
            var conditions: [String] = []
            var values: [PostgresValue] = []
            func bind(_ value: PostgresValue) -> String {
                values.append(value)
                return "$\(values.count)"
            }
            if let propertyID = filter.propertyID { conditions.append("property_id = \(bind(.text(propertyID)))") }
            if let tenantID = filter.tenantID { conditions.append("tenant_id = \(bind(.text(tenantID)))") }
            if let status = filter.status { conditions.append("status = \(bind(.text(status.rawValue)))") }
            if let owners { conditions.append("owner = ANY(\(bind(.texts(owners))))") }
            if let cursor = filter.startingAfter {
                // Holds are never deleted, so the cursor's position cannot move between this
                // read and the next. Another owner's hold is no cursor: it would tell that the
                // hold exists and where it stands.
                var positionSQL = "SELECT created_at, id FROM holds WHERE id = $1"
                var positionValues: [PostgresValue] = [.text(cursor)]
                if let owners {
                    positionSQL += " AND owner = ANY($2)"
                    positionValues.append(.texts(owners))
                }
                guard let row = try await db.rows(positionSQL, positionValues, logger: self.logger).first else {
                    throw HoldStoreError.notFound("hold \(cursor) (the startingAfter cursor)")
                }
                let position = PostgresRowReader(row, table: "holds", keyColumn: "id")
                conditions.append("(created_at, id) < (\(bind(.integer(try position.int("created_at")))), \(bind(.text(try position.string("id")))))")
            }
            var sql = "SELECT \(PostgresHoldRow.readColumns) FROM holds"
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY created_at DESC, id DESC LIMIT \(bind(.integer(max(filter.limit, 1))))"
            return try await db.rows(sql, values, logger: self.logger).map(PostgresHoldRow.decode)
        }
    }

    public func unsettledHolds(unchangedSince cutoff: Date, limit: Int) async throws -> [Hold] {
        try await read("unsettledHolds") { db in
            try await db.rows(PostgresHoldRow.selectUnsettled, [.date(cutoff), .integer(max(1, limit))], logger: self.logger)
                .map(PostgresHoldRow.decode)
        }
    }

    public func updateHold(_ hold: Hold) async throws {
        let values = PostgresHoldRow.values(for: hold)
        try await writeStatement("updateHold") { db in
            let updated: [PostgresRow]
            do {
                updated = try await db.rows(PostgresHoldRow.update, values, logger: self.logger)
            } catch where Self.sqlState(of: error) == "23505" {
                throw HoldStoreError.conflict("hold \(hold.id): ChittyID \(hold.chittyID ?? "") belongs to another hold")
            }
            if updated.isEmpty { throw HoldStoreError.notFound("hold \(hold.id)") }
        }
    }

    public func linkReplacement(oldHoldID: String, newHoldID: String) async throws {
        try await transaction("linkReplacement") { db in
            for (column, id, other) in [("replaced_by", oldHoldID, newHoldID), ("replaces", newHoldID, oldHoldID)] {
                if try await db.rows("UPDATE holds SET \(column) = $2 WHERE id = $1 RETURNING id", [.text(id), .text(other)], logger: self.logger).isEmpty {
                    throw HoldStoreError.notFound("hold \(id)")
                }
            }
        }
    }
}

/// `SELECT … FROM holds WHERE id = $1`, prepared per connection.
struct HoldByID: PostgresPreparedStatement {
    static let sql = PostgresHoldRow.selectByID
    typealias Row = PostgresRow
    let id: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
