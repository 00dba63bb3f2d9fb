import ChittyCharge
import Foundation
import HoldStoreColumns
import Logging
import PostgresNIO
import Synchronization

/// The `HoldStore` several instances share: one PostgreSQL database.
///
/// - Every method is one statement or one transaction; it returns after `COMMIT`
///   (`synchronous_commit` as the server has it, `on` by default), so nothing is
///   acknowledged before it is durable.
/// - Uniqueness and compare-and-set rules are the database's (unique indexes, guarded
///   `UPDATE … RETURNING`, `ON CONFLICT`), so they hold across instances.
/// - Nothing is cached: a hold changed through one instance reads the same on every other
///   one as soon as the change is acknowledged.
/// - A call that gets no connection within `connectionWait` (database down, pool full)
///   fails with `HoldStoreError.unavailable`; the server answers 503.
///
/// The `PostgresClient` (its connection pool) runs in a task the store owns from `open`
/// to `close()`. Call `close()` before dropping the store.
public final class PostgresHoldStore: HoldStore {
    public static var supportedSchemaVersion: Int { PostgresSchema.latestVersion }

    public let settings: PostgresConnectionSettings
    let client: PostgresClient
    let logger: Logger
    private let clientRun: Task<Void, Never>
    private let health: ReachabilityTracker
    /// Asks the database every `probeInterval`, so `/health` tells an outage even while no
    /// request comes (and recovery as soon as it is over).
    private let prober = Mutex<Task<Void, Never>?>(nil)
    static let probeInterval: Duration = .seconds(1)
    static let startupWait: Duration = .seconds(30)
    static let waitWhileUnreachable: Duration = .milliseconds(250)

    public var databaseKind: String { "postgresql" }

    private init(settings: PostgresConnectionSettings, client: PostgresClient, clientRun: Task<Void, Never>, logger: Logger) {
        self.settings = settings
        self.client = client
        self.clientRun = clientRun
        self.logger = logger
        self.health = ReachabilityTracker()
    }

    /// Connects, and migrates the schema under an advisory lock (instances starting
    /// together take turns). Throws `PostgresHoldStoreError` (`.schemaTooNew` for a database
    /// a newer build migrated).
    public static func open(settings: PostgresConnectionSettings, logger: Logger) async throws -> PostgresHoldStore {
        try await open(settings: settings, logger: logger, migrations: PostgresSchema.migrations)
    }

    static func open(settings: PostgresConnectionSettings, logger: Logger, migrations: [PostgresSchemaMigration]) async throws -> PostgresHoldStore {
        // The pool retries a refused connection for a long while and then says only that it
        // got none; one connection first tells what is wrong (refused, password, database).
        do {
            let probe = try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.any(), configuration: try settings.singleConnectionConfiguration(connectTimeout: max(settings.connectionWait, startupWait)), id: 0,
                logger: logger
            ).get()
            try await probe.close()
        } catch let error as PSQLError {
            throw PostgresHoldStoreError.openFailed(url: settings.redactedURL, reason: Self.describe(error))
        } catch {
            throw PostgresHoldStoreError.openFailed(url: settings.redactedURL, reason: "\(error)")
        }
        let client = PostgresClient(configuration: settings.clientConfiguration(), backgroundLogger: logger)
        let clientRun = Task { await client.run() }
        let store = PostgresHoldStore(settings: settings, client: client, clientRun: clientRun, logger: logger)
        do {
            try await store.migrate(to: migrations)
        } catch {
            await store.close()
            if let error = error as? PostgresHoldStoreError { throw error }
            throw PostgresHoldStoreError.openFailed(url: settings.redactedURL, reason: "\(error)")
        }
        store.prober.withLock { $0 = Task { [weak store] in
            while !Task.isCancelled {
                try? await Task.sleep(for: probeInterval)
                guard let store else { return }
                _ = await store.checkReachable()
            }
        } }
        logger.info("hold store opened", metadata: [
            "database": "postgresql", "database.url": .string(settings.redactedURL),
            "schema_version": "\(migrations.last?.version ?? 0)", "pool_size": "\(settings.poolSize)",
        ])
        return store
    }

    /// Applies the migrations newer than the database's version in one transaction, holding
    /// `pg_advisory_xact_lock` so two instances never migrate at once; refuses a newer schema.
    private func migrate(to migrations: [PostgresSchemaMigration]) async throws {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw PostgresHoldStoreError.openFailed(
                url: settings.redactedURL, reason: "migration \(migration.name) is numbered \(migration.version), expected \(index + 1)")
        }
        let supported = migrations.last?.version ?? 0
        let now = Date()
        // Starting up, waiting longer for the database than a request would is right.
        let applied = try await transaction("migrate", wait: max(settings.connectionWait, Self.startupWait)) { db -> [Int] in
            // Waiting for another instance's migration may take longer than a statement may.
            try await db.rows("SET LOCAL statement_timeout = '15min'", logger: self.logger)
            try await db.rows("SELECT pg_advisory_xact_lock($1)", [.integer(PostgresSchema.migrationLockKey)], logger: self.logger)
            try await db.rows(PostgresSchema.createMigrationsTable, logger: self.logger)
            let rows = try await db.query(PostgresQuery(PostgresSchema.currentVersion), logger: self.logger).collect()
            let current = try rows.first.map { try PostgresRowReader($0, table: "schema_migrations", keyColumn: "version").int("version") } ?? 0
            guard current <= supported else {
                throw PostgresHoldStoreError.schemaTooNew(found: current, supported: supported)
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await db.rows(statement, logger: self.logger)
                }
                try await db.rows(PostgresSchema.recordMigration, [.integer(migration.version), .text(migration.name), .date(now)],
                                  logger: self.logger)
                applied.append(migration.version)
            }
            return applied
        }
        if !applied.isEmpty {
            logger.info("hold store schema migrated", metadata: ["applied": "\(applied)"])
        }
    }

    /// Stops the pool (open connections close once their calls finish). Safe to call twice.
    public func close() async {
        let prober = self.prober.withLock { $0 }
        prober?.cancel()
        await prober?.value
        clientRun.cancel()
        await clientRun.value
    }

    public func databaseStatus() -> DatabaseStatus {
        health.status
    }

    /// One round trip, to learn whether the database answers now; updates `databaseStatus()`.
    public func checkReachable() async -> DatabaseStatus {
        _ = try? await read("checkReachable") { db in
            try await db.rows("SELECT 1", logger: self.logger).count
        }
        return health.status
    }

    // MARK: Plumbing for the HoldStore methods

    /// Runs `body` on a pooled connection, outside a transaction (one statement, which
    /// PostgreSQL runs atomically), mapping errors.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await call(what, body)
    }

    /// A single statement that writes: atomic and durable by itself.
    func writeStatement<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await call(what, body)
    }

    /// Runs `body` in one transaction (BEGIN … COMMIT, ROLLBACK when it throws).
    func transaction<T: Sendable>(_ what: String, wait: Duration? = nil,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await call(what, wait: wait) { connection in
            try await connection.rows("BEGIN", logger: self.logger)
            let result: T
            do {
                result = try await body(connection)
            } catch {
                // A failed ROLLBACK leaves the connection broken; the pool drops it.
                _ = try? await connection.rows("ROLLBACK", logger: self.logger)
                throw error
            }
            // Read to its end: an error the server sends for a statement arrives with its
            // rows, and a write is acknowledged only after COMMIT answered without one.
            try await connection.rows("COMMIT", logger: self.logger)
            return result
        }
    }

    /// Leases a connection, waiting at most `connectionWait`: a call either gets one in time
    /// and runs to its end (the server's `statement_timeout` bounds it there), or never
    /// starts. Callers see `HoldStoreError` or `CancellationError`.
    private func call<T: Sendable>(_ what: String, wait: Duration? = nil,
                                   _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = LeaseRace()
        // While the database is known to be down, answer fast rather than make every
        // request wait out the full connection wait; the prober notices its return.
        let wait = wait ?? (health.status.reachable ? settings.connectionWait : min(settings.connectionWait, Self.waitWhileUnreachable))
        do {
            let value = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await self.client.withConnection { connection in
                        guard lease.start() else { throw CancellationError() }
                        return try await body(connection)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: wait)
                    return nil
                }
                while let result = try await group.next() {
                    if let value = result {
                        group.cancelAll()
                        return value
                    }
                    if lease.abandon() {
                        group.cancelAll()
                        throw HoldStoreError.unavailable("\(what): no database connection within \(wait) (database down or pool of \(settings.poolSize) busy)")
                    }
                    // The call started before the wait ended: let it finish.
                }
                throw HoldStoreError.database("\(what): the call ended without an answer")
            }
            health.succeeded()
            return value
        } catch let error as HoldStoreError {
            if case .unavailable(let reason) = error { health.failed(reason) }
            throw error
        } catch let error as CancellationError {
            throw error
        } catch let error as PostgresHoldStoreError {
            throw error
        } catch let error as PSQLError {
            let mapped = Self.map(error, what: what)
            if case .unavailable(let reason) = mapped { health.failed(reason) } else { health.succeeded() }
            throw mapped
        } catch {
            throw HoldStoreError.database("\(what): \(error)")
        }
    }

    /// A lost or refused connection is `.unavailable` (retry later); an error the server
    /// answered with is `.database`, except a cancelled statement (`statement_timeout`).
    static func map(_ error: PSQLError, what: String) -> HoldStoreError {
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "\(error.code)"
            switch state {
            case "57014": return .unavailable("\(what): the statement ran past the database's statement_timeout (\(message))")
            case "57P01", "57P02", "57P03", "53300": return .unavailable("\(what): \(message)")
            default: return .database("\(what): \(message) (SQLSTATE \(state))")
            }
        }
        return .unavailable("\(what): \(error.code) \(error.underlying.map { "\($0)" } ?? "")")
    }

    /// The server's message when there is one, else what failed on the way.
    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        if error.code == .sslUnsupported {
            return "the server does not offer TLS (sslmode=require or verify-full asks for it); on a trusted network set sslmode=disable"
        }
        return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
    }

    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}

/// Who won between a call starting on its connection and its wait running out.
private final class LeaseRace: Sendable {
    private enum State { case waiting, started, abandoned }
    private let state = Mutex(State.waiting)

    func start() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .started
            return true
        }
    }

    func abandon() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .abandoned
            return true
        }
    }
}

/// The last thing the database did: answered, or failed to be reached (and why).
private final class ReachabilityTracker: Sendable {
    private let state = Mutex(DatabaseStatus(reachable: true))

    var status: DatabaseStatus { state.withLock { $0 } }

    func succeeded() {
        state.withLock { if !$0.reachable { $0 = DatabaseStatus(reachable: true) } }
    }

    func failed(_ reason: String) {
        state.withLock { $0 = DatabaseStatus(reachable: false, problem: reason) }
    }
}

public enum PostgresHoldStoreError: Error, CustomStringConvertible, Equatable {
    case openFailed(url: String, reason: String)
    case schemaTooNew(found: Int, supported: Int)

    public var description: String {
        switch self {
        case .openFailed(let url, let reason):
            "could not open the PostgreSQL store at \(url): \(reason)"
        case .schemaTooNew(let found, let supported):
            "the database's schema is version \(found), newer than this build supports (\(supported)); run a newer chittycharge"
        }
    }
}
