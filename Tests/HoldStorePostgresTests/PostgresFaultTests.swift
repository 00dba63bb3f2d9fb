import ChittyCharge
import Foundation
import ChittyChargeTestSupport
import HoldStorePostgres
import Logging
import PostgresNIO
import Testing

/// What a caller sees when PostgreSQL is slow, busy or gone: `HoldStoreError.unavailable`
/// (the server's 503 `database_unavailable`), in bounded time, and the store recovers.
@Suite("PostgresHoldStore faults")
struct PostgresFaultTests {
    /// Another session holds the row lock a lease claim needs, in a transaction left open.
    private static func holdLeaseRowLocked(_ url: String) async throws -> PostgresConnection {
        let blocker = try await TestPostgres.connect(url)
        try await blocker.query("BEGIN", logger: TestPostgres.logger)
        try await blocker.query("INSERT INTO background_leases (name, owner, lease_until) VALUES ('recovery', 'blocker', 0)",
                                logger: TestPostgres.logger)
        return blocker
    }

    @Test func aStatementPastTheStatementTimeoutFailsAsUnavailableAndTheStoreCarriesOn() async throws {
        try await TestPostgres.withFreshDatabase { url in
            let settings = try PostgresConnectionSettings(url: url, poolSize: 2, statementTimeout: .milliseconds(300))
            let store = try await PostgresHoldStore.open(settings: settings, logger: TestPostgres.logger)
            let blocker = try await Self.holdLeaseRowLocked(url)
            let started = ContinuousClock.now
            await #expect {
                _ = try await store.claimLease("recovery", owner: "a", until: Date().addingTimeInterval(60), at: Date())
            } throws: { error in
                guard case HoldStoreError.unavailable(let reason) = error else { return false }
                return reason.contains("statement_timeout")
            }
            #expect(ContinuousClock.now - started < .seconds(5), "the timeout bounded the wait")
            try await blocker.query("ROLLBACK", logger: TestPostgres.logger)
            try await blocker.close()
            #expect(try await store.claimLease("recovery", owner: "a", until: Date().addingTimeInterval(60), at: Date()))
            await store.close()
        }
    }

    @Test func aCallThatGetsNoConnectionFromAFullPoolFailsAsUnavailable() async throws {
        try await TestPostgres.withFreshDatabase { url in
            let settings = try PostgresConnectionSettings(url: url, poolSize: 1, connectionWait: .milliseconds(300))
            let store = try await PostgresHoldStore.open(settings: settings, logger: TestPostgres.logger)
            let blocker = try await Self.holdLeaseRowLocked(url)
            // The pool's only connection waits on the lock...
            let stuck = Task { try await store.claimLease("recovery", owner: "a", until: Date().addingTimeInterval(60), at: Date()) }
            try await Task.sleep(for: .milliseconds(200))
            // ...so another call gets no connection in time, and says so.
            await #expect {
                _ = try await store.hold(id: "pi_anything")
            } throws: { error in
                guard case HoldStoreError.unavailable(let reason) = error else { return false }
                return reason.contains("no database connection") && reason.contains("pool of 1")
            }
            #expect(store.databaseStatus().reachable == false, "health reports it")
            try await blocker.query("ROLLBACK", logger: TestPostgres.logger)
            try await blocker.close()
            #expect(try await stuck.value, "the waiting call finished once the lock went")
            #expect(try await store.hold(id: "pi_anything") == nil)
            #expect(store.databaseStatus().reachable, "and health recovers")
            await store.close()
        }
    }

    @Test func aNewerSchemaIsRefused() async throws {
        try await TestPostgres.withFreshDatabase { url in
            let store = try await PostgresHoldStore.open(settings: try PostgresConnectionSettings(url: url), logger: TestPostgres.logger)
            await store.close()
            try await TestPostgres.administer(url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)")
            await #expect(throws: PostgresHoldStoreError.schemaTooNew(found: 99, supported: PostgresHoldStore.supportedSchemaVersion)) {
                _ = try await PostgresHoldStore.open(settings: try PostgresConnectionSettings(url: url), logger: TestPostgres.logger)
            }
        }
    }

    @Test func instancesStartingTogetherMigrateOnce() async throws {
        try await TestPostgres.withFreshDatabase { url in
            let stores = try await withThrowingTaskGroup(of: PostgresHoldStore.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await PostgresHoldStore.open(settings: try PostgresConnectionSettings(url: url, poolSize: 1), logger: TestPostgres.logger) }
                }
                var opened: [PostgresHoldStore] = []
                for try await store in group { opened.append(store) }
                return opened
            }
            for store in stores { await store.close() }
            let connection = try await TestPostgres.connect(url)
            let rows = try await connection.query("SELECT version FROM schema_migrations ORDER BY version", logger: TestPostgres.logger).collect()
            try await connection.close()
            #expect(rows.count == PostgresHoldStore.supportedSchemaVersion, "each migration recorded once")
        }
    }
}

@Suite("PostgreSQL connection settings")
struct PostgresConnectionSettingsTests {
    @Test func aURLIsReadWithItsSSLModeAndWithoutLeakingThePassword() throws {
        let settings = try PostgresConnectionSettings(url: "postgresql://app:s%40cret@db.internal:6543/holds?sslmode=verify-full", poolSize: 20)
        #expect(settings.host == "db.internal")
        #expect(settings.port == 6543)
        #expect(settings.username == "app")
        #expect(settings.password == "s@cret")
        #expect(settings.database == "holds")
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.poolSize == 20)
        #expect(!settings.redactedURL.contains("cret"))
        #expect(try PostgresConnectionSettings(url: "postgres://app@db/holds").sslMode == .require, "TLS unless told otherwise")
    }

    @Test(arguments: [
        ("mysql://app@db/holds", "must look like postgres://"),
        ("postgres://db/holds", "names no user"),
        ("postgres://app@db/", "names no database"),
        ("postgres://app@db/holds?sslmode=prefer", "sslmode must be one of"),
        ("postgres://app@db/holds?pool=3", "unknown parameter 'pool'"),
        ("postgres://app:hunter2@db/holds?sslmode=nope", "sslmode must be one of"),
    ])
    func aBadURLIsRefusedClearly(_ url: String, _ message: String) {
        #expect {
            _ = try PostgresConnectionSettings(url: url)
        } throws: { error in
            let text = "\(error)"
            return text.contains(message) && !text.contains("hunter2")
        }
    }

    @Test func aPoolSizeOutOfRangeIsRefused() {
        #expect(throws: PostgresSettingsError.self) { _ = try PostgresConnectionSettings(url: "postgres://app@db/holds", poolSize: 0) }
    }
}
