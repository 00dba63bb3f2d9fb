import AsyncHTTPClient
import ChittyCharge
import ChittyChargeServer
import ChittyIDClient
import Foundation
import HoldStorePostgres
import HoldStoreSQLite
import Hummingbird
import Logging
import Metrics
import PolicyEngine
import Prometheus
import ServiceLifecycle
import StripeAPI
import StripeEmulator

/// The one wiring of ChittyCharge: store, Stripe gateway, ChittyID minter, hold services,
/// policy reloader, HTTP dependencies and background work, built the same way for `serve`,
/// the test harness and the benchmarks.
///
/// The policy engine comes in already loaded: a policy set that does not load must stop
/// `serve` before anything else is checked or opened (POLICY.md), and its limits are the
/// caller's to choose.
public struct ChittyChargeSystem: Sendable {
    public let store: any HoldStore
    private let closeStore: @Sendable () async throws -> Void
    public let holds: HoldServices
    /// The ChittyID minter the services were given (the emulator, the HTTP one, or none).
    public let minter: any ChittyIDMinter
    public let reloader: PolicyReloader
    /// What `buildRouter` and `buildApplication` take.
    public let dependencies: ChittyChargeDependencies
    /// The services' own chores; `serve` runs them, tests drive the services directly.
    public let backgroundWork: BackgroundWork
    /// This instance's heartbeat (and, on a shared store, the cluster's policy revision).
    public let clusterHeartbeat: ClusterHeartbeat
    /// The Stripe emulator's own HTTP API, when `StripeSetup.emulator` asked for a port.
    public let stripeEmulatorServer: (any Service)?
    let httpLogger: Logger

    /// Opens the store and wires the rest around it. Nothing is running yet: run
    /// `application()` (and `backgroundWork`), then `close()`.
    /// - Parameters:
    ///   - metrics: what `/metrics` serves and where the HTTP layer records.
    ///   - holdMetrics: where the hold services record (nil: `metrics`).
    public static func build(
        _ configuration: Configuration, policies: PolicyEngine, loggers: Loggers,
        metrics: PrometheusMetricsFactory, holdMetrics: (any MetricsFactory)? = nil
    ) async throws -> ChittyChargeSystem {
        let logger = loggers.startup
        let (store, rateLimiter, closeStore) = try await openStore(configuration.database, loggers: loggers)
        var server = configuration.server
        server.database = store.databaseKind
        let stripe = await wireStripe(configuration.stripe, server: &server, loggers: loggers)
        let (minter, chittyIDMode) = wireChittyID(configuration.chittyID, logger: logger)
        server.chittyIDMode = chittyIDMode
        if configuration.authenticator.isEmpty {
            logger.warning("no client tokens configured (CHITTY_ID_TOKEN, CHITTYCHARGE_CLIENTS_FILE): every /api request will be 401")
        }

        var holdConfiguration = configuration.holds
        if case .postgres = configuration.database {
            // Other instances may be running operations on this store (OtherInstanceWait).
            holdConfiguration.storeIsShared = true
        }
        server.instanceID = holdConfiguration.schedulerID
        let holds = HoldServices(
            store: store, gateway: stripe.gateway, minter: minter, policies: policies, clock: configuration.clock,
            configuration: holdConfiguration, logger: loggers.holds, metricsFactory: holdMetrics ?? metrics,
            faultPoint: configuration.faultPoint)
        if server.webhookSecret == nil {
            logger.warning("STRIPE_WEBHOOK_SECRET is not set: /webhook answers 503 and Stripe keeps retrying its events")
        }
        if let emulator = stripe.emulatorSendingWebhooks, let secret = server.webhookSecret {
            // Like a Stripe dashboard endpoint pointed at this server.
            let host = server.host == "0.0.0.0" ? "127.0.0.1" : server.host
            await emulator.configureWebhookEndpoint(url: "http://\(host):\(server.port)/webhook", secret: secret)
            logger.notice("Stripe emulator sends signed webhooks to http://\(host):\(server.port)/webhook")
        }
        let reloader = PolicyReloader(engine: policies, directory: configuration.policyDirectory, store: store,
                                      followsCluster: holdConfiguration.storeIsShared, logger: loggers.policy)
        await reloader.recordStartup()
        return ChittyChargeSystem(
            store: store, closeStore: closeStore, holds: holds, minter: minter, reloader: reloader,
            dependencies: ChittyChargeDependencies(
                holds: holds, store: store, policies: policies, clock: configuration.clock, authenticator: configuration.authenticator,
                rateLimiter: rateLimiter, configuration: server, policyReloader: reloader,
                adminAuthenticator: AdminAuthenticator(token: configuration.adminToken, named: configuration.admins), metrics: metrics),
            backgroundWork: BackgroundWork(holds: holds, registry: store, logger: logger),
            clusterHeartbeat: ClusterHeartbeat(
                reloader: reloader, registry: store, instanceID: holdConfiguration.schedulerID,
                address: "\(ProcessInfo.processInfo.hostName):\(server.port)",
                // Alone on a SQLite file there is no cluster revision to follow: a heartbeat
                // every 5 s keeps the instance listed without an fsync'd write each second.
                interval: holdConfiguration.storeIsShared ? .seconds(1) : .seconds(5), logger: loggers.policy),
            stripeEmulatorServer: stripe.emulatorServer, httpLogger: loggers.http)
    }

    /// The HTTP application on the configured host and port.
    public func application() -> Application<RouterResponder<ChittyChargeRequestContext>> {
        buildApplication(dependencies, logger: httpLogger)
    }

    public func close() async throws {
        try await closeStore()
    }

    /// The store, the rate limiter that goes with it, and how to close the store.
    private static func openStore(_ setup: DatabaseSetup, loggers: Loggers) async throws
        -> (any HoldStore, any RateLimiter, @Sendable () async throws -> Void) {
        switch setup {
        case .sqlite(let path):
            do {
                let store = try await SQLiteHoldStore.open(path: path, logger: loggers.store)
                loggers.startup.info("store opened", metadata: ["database": "sqlite", "database.path": .string(path)])
                return (store, FixedWindowRateLimiter(), { try await store.close() })
            } catch {
                throw StartupError(message: "could not open the SQLite store at \(path): \(error)")
            }
        case .postgres(let settings):
            do {
                let store = try await PostgresHoldStore.open(settings: settings, logger: loggers.store)
                loggers.startup.info("store opened", metadata: ["database": "postgresql", "database.url": .string(settings.redactedURL)])
                // Limits hold across the instances: quota is leased from the database.
                return (store, LeasedRateLimiter(ledger: store), { await store.close() })
            } catch let error as PostgresHoldStoreError {
                throw StartupError(message: error.description)
            } catch {
                throw StartupError(message: "could not open the PostgreSQL store at \(settings.redactedURL): \(error)")
            }
        }
    }

    private struct WiredStripe {
        var gateway: (any PaymentGateway)?
        var emulatorSendingWebhooks: StripeEmulator?
        var emulatorServer: (any Service)?
    }

    /// Makes the gateway, sets `/health`'s Stripe mode, and for the emulator a webhook
    /// secret when none is configured.
    private static func wireStripe(_ setup: StripeSetup, server: inout ServerConfiguration, loggers: Loggers) async -> WiredStripe {
        let logger = loggers.startup
        var wired = WiredStripe()
        switch setup {
        case .notConfigured:
            server.stripeMode = nil
            logger.warning("Stripe is not configured (no STRIPE_SECRET_KEY, no --stripe emulator): hold routes will answer 503")
        case .api(let secretKey, let apiBase):
            wired.gateway = StripeClient(
                transport: HTTPClientStripeTransport(httpClient: .shared, apiBase: apiBase), secretKey: secretKey, logger: loggers.stripe)
            let mode = secretKey.hasPrefix("sk_live_") || secretKey.hasPrefix("rk_live_") ? "live" : "test"
            server.stripeMode = mode
            logger.info("Stripe configured", metadata: ["stripe.mode": .string(mode), "stripe.api_base": .string(apiBase)])
        case .emulator(let emulator, let apiPort, let sendsWebhooks):
            wired.gateway = StripeClient(
                transport: StripeEmulatorTransport(emulator: emulator), secretKey: "sk_test_emulator", logger: loggers.stripe)
            server.stripeMode = "emulator"
            if sendsWebhooks {
                wired.emulatorSendingWebhooks = emulator
                if server.webhookSecret == nil {
                    // The emulator signs its webhooks; a fresh secret per run is enough locally.
                    server.webhookSecret = "whsec_emulator_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
                }
            }
            logger.warning("STRIPE EMULATOR in use: holds are simulated in memory, no card is charged, and they are lost on restart")
            if let apiPort {
                wired.emulatorServer = StripeEmulatorServer.buildApplication(
                    emulator: emulator, host: "127.0.0.1", port: apiPort, logger: loggers.stripeEmulator)
                logger.notice("Stripe emulator API on http://127.0.0.1:\(apiPort)/v1 (authorise a hold: POST /v1/payment_intents/{id}/confirm payment_method=pm_card_visa)")
            }
        case .gateway(let gateway, let mode):
            wired.gateway = gateway
            server.stripeMode = mode
        }
        return wired
    }

    /// The minter and `/health`'s ChittyID mode.
    private static func wireChittyID(_ setup: ChittyIDSetup, logger: Logger) -> (any ChittyIDMinter, String?) {
        switch setup {
        case .emulator(let minter):
            logger.warning("CHITTYID EMULATOR in use: ChittyIDs are minted locally (CHITTY-AUTH-EMU-…), not by the ChittyID service")
            return (minter, "emulator")
        case .remote(let baseURL, let token):
            return (HTTPChittyIDMinter(httpClient: .shared, baseURL: baseURL, token: token), "remote")
        case .notConfigured:
            logger.warning("ChittyID is not configured (no CHITTY_ID_TOKEN, no --chittyid emulator): holds wait with chitty_id pending")
            return (UnconfiguredMinter(), nil)
        }
    }
}

/// A setting that cannot work, said plainly; `serve` logs it and exits non-zero.
public struct StartupError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Without ChittyID configuration every mint fails, so holds stay visibly pending and the
/// outbox keeps them until the service is configured.
struct UnconfiguredMinter: ChittyIDMinter {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String { "ChittyID is not configured (set CHITTY_ID_TOKEN, or --chittyid emulator)" }
    }

    func mint(entityType: String, metadata: [String: String]) async throws -> String {
        throw NotConfigured()
    }
}
