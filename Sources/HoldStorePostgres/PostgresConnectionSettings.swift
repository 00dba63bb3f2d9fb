import Foundation
import NIOSSL
import PostgresNIO

/// Where and how to reach PostgreSQL, read from a `DATABASE_URL`:
/// `postgres://user:password@host:port/database?sslmode=disable|require|verify-full`
/// (`postgresql://` too). `require` encrypts without checking the certificate (as libpq's
/// `require`); `verify-full` checks it against the system's trust roots and the host name.
/// Without `sslmode` the connection is `require`d: a payments service never sends its
/// data in clear text unless told to.
public struct PostgresConnectionSettings: Sendable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable
        case require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// Connections each instance keeps at most (`DATABASE_POOL_SIZE`).
    public var poolSize: Int
    /// How long a call waits for a free connection before it fails as unavailable.
    public var connectionWait: Duration
    /// The server cancels a statement that runs longer (`statement_timeout`).
    public var statementTimeout: Duration

    public init(url: String, poolSize: Int = 10, connectionWait: Duration = .seconds(5),
                statementTimeout: Duration = .seconds(10)) throws(PostgresSettingsError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresSettingsError("DATABASE_URL must look like postgres://user:password@host:port/database, got '\(Self.redacted(url))'")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresSettingsError("DATABASE_URL names no host: '\(Self.redacted(url))'")
        }
        guard let username = components.user, !username.isEmpty else {
            throw PostgresSettingsError("DATABASE_URL names no user: '\(Self.redacted(url))'")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw PostgresSettingsError("DATABASE_URL names no database (the path after the host): '\(Self.redacted(url))'")
        }
        var sslMode = SSLMode.require
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw PostgresSettingsError("DATABASE_URL sslmode must be one of disable, require, verify-full; got '\(item.value ?? "")'")
                }
                sslMode = mode
            default:
                throw PostgresSettingsError("DATABASE_URL has an unknown parameter '\(item.name)' (known: sslmode)")
            }
        }
        guard (1...1000).contains(poolSize) else {
            throw PostgresSettingsError("the database pool size must be between 1 and 1000, got \(poolSize)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = sslMode
        self.poolSize = poolSize
        self.connectionWait = connectionWait
        self.statementTimeout = statementTimeout
    }

    /// The URL without its password, for logs and messages.
    public var redactedURL: String {
        "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(unparseable)"
    }

    private var tlsConfiguration: TLSConfiguration? {
        switch sslMode {
        case .disable:
            return nil
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return configuration
        case .verifyFull:
            return .makeClientConfiguration()
        }
    }

    /// One connection outside the pool, as the pool would make it: `open` tries it first so
    /// a wrong host, password or database name is reported at once and by name.
    public func singleConnectionConfiguration(connectTimeout: Duration? = nil) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = try tlsConfiguration.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        let timeout = connectTimeout ?? connectionWait
        configuration.options.connectTimeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
            + timeout.components.attoseconds / 1_000_000_000)
        return configuration
    }

    func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = tlsConfiguration.map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = connectionWait
        let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(milliseconds)"),
            ("application_name", "chittycharge"),
        ]
        return configuration
    }
}

public struct PostgresSettingsError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}
