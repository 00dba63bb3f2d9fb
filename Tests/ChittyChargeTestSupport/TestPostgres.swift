import Foundation
import HoldStorePostgres
import Logging
import PostgresNIO

/// The PostgreSQL the test command started (`CHITTYCHARGE_TEST_POSTGRES_URL`), and a new,
/// empty database on it for each test, dropped afterwards.
public enum TestPostgres {
    public static let urlVariable = "CHITTYCHARGE_TEST_POSTGRES_URL"

    /// The server's URL, or a failure that says how to get one: these tests never skip.
    public static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[urlVariable], !url.isEmpty else {
            throw MissingServer()
        }
        return url
    }

    public struct MissingServer: Error, CustomStringConvertible {
        public var description: String {
            "\(TestPostgres.urlVariable) is not set: run the tests with ./scripts/test.sh (it starts a throw-away PostgreSQL), "
                + "or start one with ./scripts/postgres-test-cluster.sh start and export the URL it prints"
        }
    }

    public static let logger = Logger(label: "test.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// `CREATE DATABASE` a fresh one, run `body` with its URL, then drop it.
    public static func withFreshDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let server = try serverURL()
        let name = "cc_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await administer(server, "CREATE DATABASE \(name)")
        let url = server.replacingOccurrences(of: "/chittycharge_test", with: "/\(name)")
        do {
            let result = try await body(url)
            try await administer(server, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await administer(server, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// A fresh database with a migrated store on it, closed afterwards.
    public static func withFreshStore<T>(poolSize: Int = 2, _ body: (PostgresHoldStore) async throws -> T) async throws -> T {
        try await withFreshDatabase { url in
            // A loaded test machine runs dozens of these at once: wait for connections as long
            // as a test may take, so only real faults fail.
            let store = try await PostgresHoldStore.open(
                settings: PostgresConnectionSettings(url: url, poolSize: poolSize, connectionWait: .seconds(60)), logger: logger)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// Runs one statement on the server's own database over a connection of its own.
    public static func administer(_ serverURL: String, _ sql: String) async throws {
        let connection = try await connect(serverURL)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// A connection of its own to the database `url` names (not the store's pool).
    public static func connect(_ url: String) async throws -> PostgresConnection {
        let settings = try PostgresConnectionSettings(url: url)
        return try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(),
            configuration: .init(host: settings.host, port: settings.port, username: settings.username,
                                 password: settings.password, database: settings.database, tls: .disable),
            id: 1, logger: logger
        ).get()
    }
}
