import ChittyCharge
import Foundation
import SQLiteNIO
import Testing
@testable import HoldStoreSQLite

/// Schema version 4 gives every hold an owner. Holds written before it belong to the
/// client recorded on them, or to `default` (the shared token's client) when none was.
@Suite("SQLiteHoldStore owner migration")
struct HoldOwnerMigrationTests {
    /// A hold row as a version-3 build wrote it (its create operation must be pending).
    static func insertVersion3Hold(id: String, client: String, operationKey: String, in store: SQLiteHoldStore) async throws {
        try await store.claimCreateAsBeforeVersion8(SQLiteHoldStoreTests.operation(key: operationKey))
        try await store.writer.exclusive { db in
            try await db.execute("""
                INSERT INTO holds (id, chitty_id_status, status, amount, amount_capturable, amount_received, currency,
                    description, metadata, client, tier, tier_limit, policy_revision, create_operation_key, created_at, updated_at)
                VALUES (?, 'pending', 'requires_capture', 5000, 5000, 0, 'usd', 'Deposit', '{}', ?, 'standard', 50000,
                    'rev-1', ?, 1780000000000, 1780000000000)
                """, [.text(id), .text(client), .text(operationKey)])
        }
    }

    static func owners(in store: SQLiteHoldStore) async throws -> [String: String] {
        try await store.writer.exclusive { db in
            var owners: [String: String] = [:]
            for row in try await db.rows("SELECT id, owner FROM holds") {
                let column = RowReader(row: row, table: "holds", keyColumn: "id")
                owners[try column.string("id")] = try column.string("owner")
            }
            return owners
        }
    }

    @Test("a version-3 file's holds belong to their recorded client, or default")
    func version3HoldsGetOwners() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let version3 = Array(HoldStoreSchema.migrations.prefix { $0.version <= 3 })
        let old = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger, readerCount: 1, migrations: version3)
        do {
            try await Self.insertVersion3Hold(id: "pi_alice", client: "alice", operationKey: "op-a", in: old)
            try await Self.insertVersion3Hold(id: "pi_nobody", client: "", operationKey: "op-n", in: old)
            try await Self.insertVersion3Hold(id: "pi_shared", client: "default", operationKey: "op-d", in: old)
            try await old.close()
        } catch {
            try? await old.close()
            throw error
        }

        let (version, owners) = try await withStore(at: database.path) { store async throws in
            (try await store.appliedMigrations().last?.version, try await Self.owners(in: store))
        }
        #expect(version == HoldStoreSchema.latestVersion)
        #expect(owners == ["pi_alice": "alice", "pi_nobody": "default", "pi_shared": "default"])
    }
}
