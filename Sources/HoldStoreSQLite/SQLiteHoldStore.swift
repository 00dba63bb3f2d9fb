import ChittyCharge
import Foundation
import Logging
import SQLiteNIO
import Synchronization

/// The embedded `HoldStore`: one SQLite file in WAL mode.
///
/// - Writes go through one writer connection, one transaction at a time (`SQLiteWriter`);
///   every method returns only after its `COMMIT` is on disk (`synchronous=FULL`).
/// - Reads go to a small pool of reader connections that WAL lets run beside the writer,
///   each reading the last committed state.
/// - Times are kept to the millisecond (INTEGER Unix milliseconds).
/// - `holds(matching:)` with an unknown `startingAfter` throws `HoldStoreError.notFound`.
///
/// Call `close()` before dropping the store.
public final class SQLiteHoldStore: HoldStore {
    /// The newest schema this build can migrate to; a file with a newer one is refused.
    public static var supportedSchemaVersion: Int { HoldStoreSchema.latestVersion }

    /// How long a connection waits for another process's lock before failing.
    static let busyTimeoutMilliseconds = 5_000

    public let path: String
    let writer: SQLiteWriter
    private let readers: [SQLiteConnection]
    private let nextReader = Atomic<UInt>(0)
    /// The store's own threads: a commit waiting on fsync never delays a read queued
    /// behind it on a shared pool.
    private let threadPool: NIOThreadPool
    private let calls = InFlightCalls()
    /// Held from open to close on a file a server opened (`SingleServerLock`).
    private let serverLock: SingleServerLock?
    /// Recently read holds; see `HoldCache` for why it stays coherent.
    let holdCache = HoldCache(capacity: 10_000)

    private init(path: String, writer: SQLiteWriter, readers: [SQLiteConnection], threadPool: NIOThreadPool, serverLock: SingleServerLock?) {
        self.path = path
        self.serverLock = serverLock
        self.writer = writer
        self.readers = readers
        self.threadPool = threadPool
    }

    /// Opens (creating if needed) and migrates the database at `path`.
    ///
    /// `:memory:` gives a private in-memory database; it has no readers (an in-memory
    /// database cannot be shared between connections), so reads queue with the writes.
    /// Throws `SQLiteHoldStoreError` (`.schemaTooNew` for a file from a newer build,
    /// `.inUseByAnotherProcess` when another server has it open).
    /// - Parameter serving: take the file's single-server lock (a server does); false for a
    ///   reader beside a running server (`policy backtest`).
    public static func open(path: String, logger: Logger, readerCount: Int = 4, serving: Bool = true) async throws -> SQLiteHoldStore {
        try await open(path: path, logger: logger, readerCount: readerCount, serving: serving, migrations: HoldStoreSchema.migrations)
    }

    /// `migrations` is a parameter so tests can play a newer build.
    static func open(path: String, logger: Logger, readerCount: Int, serving: Bool = true, migrations: [SchemaMigration]) async throws -> SQLiteHoldStore {
        let inMemory = path == ":memory:"
        // Before any connection: a second server must not even migrate the file.
        let serverLock = serving && !inMemory ? try SingleServerLock.acquire(besides: path) : nil
        let readerCount = inMemory ? 0 : max(1, readerCount)
        let threadPool = NIOThreadPool(numberOfThreads: readerCount + 1)
        threadPool.start()
        let storage: SQLiteConnection.Storage = inMemory ? .memory : .file(path: path)
        var opened: [SQLiteConnection] = []
        do {
            let writerConnection = try await SQLiteConnection.open(
                storage: storage, threadPool: threadPool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
            opened.append(writerConnection)
            let writer = SQLiteWriter(connection: writerConnection, logger: logger)
            try await configureWriter(writerConnection, inMemory: inMemory)
            try await migrate(writer, at: path, to: migrations, logger: logger)

            var readers: [SQLiteConnection] = []
            for _ in 0..<readerCount {
                let reader = try await SQLiteConnection.open(
                    storage: storage, threadPool: threadPool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
                opened.append(reader)
                try await configureReader(reader)
                readers.append(reader)
            }
            logger.info("hold store opened", metadata: [
                "path": .string(path), "schema_version": "\(migrations.last?.version ?? 0)", "readers": "\(readerCount)",
            ])
            return SQLiteHoldStore(path: path, writer: writer, readers: readers, threadPool: threadPool, serverLock: serverLock)
        } catch {
            serverLock?.release()
            for connection in opened {
                try? await connection.close()
            }
            try? await threadPool.shutdownGracefully()
            if let error = error as? SQLiteHoldStoreError { throw error }
            throw SQLiteHoldStoreError.openFailed(path: path, reason: "\(error)")
        }
    }

    private static func configureWriter(_ connection: SQLiteConnection, inMemory: Bool) async throws {
        let journalMode = try await connection.rows("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string ?? "unknown"
        if !inMemory, journalMode.lowercased() != "wal" {
            throw SQLiteHoldStoreError.walUnavailable(journalMode: journalMode)
        }
        // FULL: in WAL mode NORMAL may lose the last commits on power loss, and nothing is
        // acknowledged before it is durable.
        try await connection.execute("PRAGMA synchronous = FULL")
        // Also replaces sqlite-nio's default busy handler, which retries forever.
        try await connection.execute("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)")
        try await connection.execute("PRAGMA foreign_keys = ON")
    }

    private static func configureReader(_ connection: SQLiteConnection) async throws {
        try await connection.execute("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)")
        // Readers never write; make a mistake there fail loudly instead of racing the writer.
        try await connection.execute("PRAGMA query_only = ON")
    }

    /// Applies the migrations newer than the file's version, all in one transaction (so a
    /// crash half-way leaves the old schema), or refuses a file from a newer build.
    private static func migrate(_ writer: SQLiteWriter, at path: String, to migrations: [SchemaMigration], logger: Logger) async throws {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw SQLiteHoldStoreError.openFailed(
                path: path, reason: "migration \(migration.name) is numbered \(migration.version), expected \(index + 1)")
        }
        let supported = migrations.last?.version ?? 0
        let now = Date()
        let applied = try await writer.transaction { db -> [Int] in
            try await db.execute(HoldStoreSchema.createMigrationsTable)
            let row = try await db.rows(HoldStoreSchema.currentVersion).first
            let current = Int(row?.column("version")?.integer ?? 0)
            guard current <= supported else {
                throw SQLiteHoldStoreError.schemaTooNew(found: current, supported: supported)
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await db.execute(statement)
                }
                try await db.execute(HoldStoreSchema.recordMigration, [
                    .integer(migration.version), .text(migration.name), SQLiteData(now),
                ])
                applied.append(migration.version)
            }
            return applied
        }
        if !applied.isEmpty {
            logger.info("hold store schema migrated", metadata: ["applied": "\(applied)"])
        }
    }

    /// Closes every connection; later calls fail. Safe to call twice.
    public func close() async throws {
        // Statements still running must finish before their connections go.
        guard await calls.closeAndDrain() else { return }
        var firstError: (any Error)?
        for reader in readers {
            do { try await reader.close() } catch { firstError = firstError ?? error }
        }
        // Waits for a transaction in flight to finish first.
        do { try await writer.close() } catch { firstError = firstError ?? error }
        do { try await threadPool.shutdownGracefully() } catch { firstError = firstError ?? error }
        serverLock?.release()
        if let firstError {
            throw HoldStoreError.database("closing the hold store: \(firstError)")
        }
    }

    // MARK: Diagnostics

    public var databaseKind: String { "sqlite" }

    /// A local file: reachable while the store is open.
    public func databaseStatus() -> DatabaseStatus {
        DatabaseStatus(reachable: true)
    }

    /// The migrations recorded in the file, oldest first.
    public func appliedMigrations() async throws -> [AppliedSchemaMigration] {
        try await read("appliedMigrations") { db in
            try await db.rows(HoldStoreSchema.appliedMigrations).map { row in
                let column = RowReader(row: row, table: "schema_migrations", keyColumn: "version")
                return AppliedSchemaMigration(
                    version: try column.int("version"), name: try column.string("name"), appliedAt: try column.date("applied_at"))
            }
        }
    }

    /// SQLite's journal mode for the file: `wal` (or `memory` for `:memory:`).
    public func journalMode() async throws -> String {
        try await storeCall("journalMode") {
            try await writer.exclusive { db in
                try await db.rows("PRAGMA journal_mode").first?.column("journal_mode")?.string ?? "unknown"
            }
        }
    }

    // MARK: Plumbing for the HoldStore methods

    /// Runs `body` on a reader connection (round robin), mapping errors.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await storeCall(what) {
            if readers.isEmpty {
                return try await writer.exclusive(body)
            }
            let ticket = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue
            return try await body(readers[Int(ticket % UInt(readers.count))])
        }
    }

    /// Runs `body` in one write transaction, mapping errors.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await storeCall(what) { try await writer.transaction(body) }
    }

    /// Runs a single statement (atomic and durable by itself) on the writer, mapping errors.
    func writeStatement<T: Sendable>(_ what: String, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await storeCall(what) { try await writer.exclusive(body) }
    }

    /// Callers see `HoldStoreError` (or `CancellationError`); SQLite's own errors and
    /// undecodable rows become `.database` with the method named.
    private func storeCall<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        // Checked first: the closed thread pool would otherwise answer CancellationError.
        guard calls.enter() else {
            throw HoldStoreError.database("\(what): the hold store is closed")
        }
        defer { calls.leave() }
        do {
            return try await body()
        } catch let error as HoldStoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw HoldStoreError.database("\(what): \(error)")
        }
    }
}
