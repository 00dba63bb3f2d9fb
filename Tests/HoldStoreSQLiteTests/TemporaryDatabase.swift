import ChittyCharge
import Foundation
import Logging
@testable import HoldStoreSQLite

/// A database file in a directory of its own (SQLite adds `-wal` and `-shm` beside it),
/// removed afterwards.
struct TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("holds.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("holdstore-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

let quietLogger: Logger = {
    var logger = Logger(label: "HoldStoreSQLiteTests")
    logger.logLevel = .warning
    return logger
}()

/// Opens a store at `path`, runs `body`, and closes the store whatever happens.
func withStore<T>(at path: String, _ body: (SQLiteHoldStore) async throws -> T) async throws -> T {
    let store = try await SQLiteHoldStore.open(path: path, logger: quietLogger)
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

/// Runs `body` on a new, empty store in a fresh temporary file.
func withFreshStore<T>(_ body: (SQLiteHoldStore) async throws -> T) async throws -> T {
    let database = try TemporaryDatabase()
    defer { database.remove() }
    return try await withStore(at: database.path, body)
}

extension SQLiteHoldStore {
    /// Completes a create as builds before schema version 6 did: one INSERT of the hold,
    /// whose triggers marked the operation succeeded and queued the ChittyID job. Only for
    /// files opened at such an older schema.
    func completeCreateAsBeforeVersion6(hold: Hold) async throws {
        let binds = try HoldRow.binds(for: hold) + [.text(hold.owner)]
        try await writer.exclusive { db in
            try await db.execute("INSERT INTO holds (\(HoldRow.columns), owner) VALUES (\(placeholders(26)))", binds)
        }
    }

    /// Claims a create as builds before schema version 8 did (no typed metadata column),
    /// for files opened at such an older schema. The hold_limit decision is not recorded.
    func claimCreateAsBeforeVersion8(_ operation: CreateOperation) async throws {
        let binds = try Array(CreateOperationRow.binds(for: operation).dropLast())
        let columns = CreateOperationRow.columns.replacingOccurrences(of: ", client_metadata", with: "")
        try await writer.exclusive { db in
            try await db.execute("INSERT INTO create_operations (\(columns)) VALUES (\(placeholders(15)))", binds)
        }
    }
}
