import ArgumentParser
import AsyncHTTPClient
import ChittyCharge
import ChittyChargeServer
import ChittyIDClient
import Foundation
import HoldStoreSQLite
import Hummingbird
import Logging
import Metrics
import PolicyEngine
import Prometheus
import ServiceLifecycle
import StripeAPI
import StripeEmulator

/// `chittycharge serve`: the hold API. Every option falls back to API.md's environment
/// variable, then to the embedded default. Emulators are only ever used when asked for by
/// flag, and then announced in the log and in `/health`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the hold API (HTTP).",
        discussion: """
        Stripe: --stripe emulator, or STRIPE_SECRET_KEY (and STRIPE_API_BASE). Without either the \
        server starts, /health says stripe_connected: false and hold routes answer 503.
        ChittyID: --chittyid emulator, or CHITTY_ID_TOKEN with CHITTYID_URL.
        Clients: CHITTY_ID_TOKEN (client "default") and CHITTYCHARGE_CLIENTS_FILE (name:sha256 lines, \
        optionally :group=name[,name] to share holds; names are a-z 0-9 _ -). A client reaches only \
        its own holds and those of its groups' clients.
        Webhooks: STRIPE_WEBHOOK_SECRET (with --stripe emulator a fresh one is made and the emulator posts to /webhook).
        Admin: ADMIN_TOKEN enables /admin/policies (reload, rollback, backtest) with Authorization: Bearer.
        Policies reload on SIGHUP (systemctl reload), on POST /admin/policies/reload and on `chittycharge policy reload`.
        """)

    @Option(help: "Address to listen on ($HOST).") var host: String?
    @Option(help: "Port ($PORT, default 8787).") var port: Int?
    @Option(help: "sqlite:///path/to/file ($DATABASE_URL, default sqlite://./chittycharge.sqlite).") var databaseURL: String?
    @Option(help: "Policy folder ($POLICY_DIR, default ./policies).") var policyDir: String?
    @Option(help: "Milliseconds one policy hook call may run ($POLICY_TIME_LIMIT_MS, default 50).") var policyTimeLimitMs: Int?
    @Option(help: "'emulator' to use the built-in Stripe emulator instead of STRIPE_SECRET_KEY.") var stripe: String?
    @Option(help: "Port for the Stripe emulator's own HTTP API when --stripe emulator (0: none).") var stripeEmulatorPort: Int = 8788
    @Option(help: "'emulator' to mint ChittyIDs locally instead of calling CHITTYID_URL.") var chittyid: String?
    @Option(help: "Named client tokens file ($CHITTYCHARGE_CLIENTS_FILE).") var clientsFile: String?
    @Option(help: "Comma-separated origins for the cors policy ($ALLOWED_ORIGINS).") var allowedOrigins: String?
    @Option(help: "Default currency ($CURRENCY, default usd).") var currency: String?
    @Option(help: "Comma-separated payment_method_types sent with every hold ($STRIPE_PAYMENT_METHOD_TYPES, default card; only methods with manual capture and a known capture window).")
    var paymentMethodTypes: String?
    @Option(help: "trace, debug, info, notice, warning, error ($LOG_LEVEL, default info).") var logLevel: String?
    @Option(help: "text or json: one JSON object per line ($LOG_FORMAT, default text).") var logFormat: String?
    @Option(help: "Seconds a request may take to arrive whole from its first byte ($REQUEST_TIMEOUT, default 30).") var requestTimeout: Int?
    @Option(help: "Seconds an idle connection is kept ($IDLE_TIMEOUT, default 60).") var idleTimeout: Int?
    @Option(help: "Folder under which POST /admin/policies/backtest may read a candidate 'dir' ($POLICY_BACKTEST_ROOT; unset: 'files' only).") var policyBacktestRoot: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = Logger.Level(rawValue: (logLevel ?? environment["LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        let format = logFormat ?? environment["LOG_FORMAT"] ?? "text"
        guard format == "text" || format == "json" else {
            throw ValidationError("LOG_FORMAT (--log-format) must be 'text' or 'json', got '\(format)'")
        }
        if format == "text" { setenv("TZ", ":/etc/localtime", 0) }
        LoggingSystem.bootstrap { label -> any LogHandler in
            if format == "json" {
                var handler = JSONLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
            // swift-log's own text format, written through the same buffered output. Its
            // timestamps use localtime(3), which re-reads /etc/localtime for every line
            // unless TZ is set; naming that same file keeps the zone and drops the read.
            var handler = StreamLogHandler(label: label, stream: LogOutput.standardOutput.textStream)
            handler.logLevel = level
            return handler
        }
        defer { LogOutput.standardOutput.flush() }
        // One registry behind /metrics; the service, the policy engine and the HTTP layer are
        // also handed the factory itself, so nothing depends on which bootstrap ran first.
        let metrics = PrometheusMetricsFactory.chittyCharge()
        MetricsSystem.bootstrap(metrics)
        let logger = Logger(label: "chittycharge")
        do {
            try await serve(environment: environment, logger: logger, metrics: metrics)
        } catch let error as StartupError {
            logger.critical("\(error.message)")
            throw ExitCode.failure
        }
    }

    struct StartupError: Error {
        var message: String
    }

    /// A whole number of seconds from 1 to 3600, from the flag, else the environment.
    static func seconds(_ flag: Int?, _ variable: String?, default fallback: Int, name: String) throws -> Int {
        guard let text = flag.map(String.init) ?? variable.flatMap({ $0.isEmpty ? nil : $0 }) else { return fallback }
        guard let value = Int(text), (1...3600).contains(value) else {
            throw StartupError(message: "\(name) must be a whole number of seconds from 1 to 3600, got '\(text)'")
        }
        return value
    }

    private func serve(environment: [String: String], logger: Logger, metrics: PrometheusMetricsFactory) async throws {
        // Settings that cannot work are refused before anything is opened.
        if let stripe, stripe != "emulator" {
            throw StartupError(message: "--stripe accepts only 'emulator' (got '\(stripe)'); for real Stripe set STRIPE_SECRET_KEY")
        }
        if let chittyid, chittyid != "emulator" {
            throw StartupError(message: "--chittyid accepts only 'emulator' (got '\(chittyid)')")
        }
        let listenPort = try resolvedPort(environment)
        let requestTimeoutSeconds = try Self.seconds(requestTimeout, environment["REQUEST_TIMEOUT"], default: 30, name: "REQUEST_TIMEOUT (--request-timeout)")
        let idleTimeoutSeconds = try Self.seconds(idleTimeout, environment["IDLE_TIMEOUT"], default: 60, name: "IDLE_TIMEOUT (--idle-timeout)")
        let methodTypes: [String]
        do {
            methodTypes = try PaymentMethodCaptureWindow.parse(
                paymentMethodTypes ?? environment["STRIPE_PAYMENT_METHOD_TYPES"] ?? PaymentMethodCaptureWindow.defaultTypes.joined(separator: ","))
        } catch {
            throw StartupError(message: "STRIPE_PAYMENT_METHOD_TYPES (--payment-method-types): \(error.description)")
        }
        logger.info("holds are placed with these payment method types", metadata: ["stripe.payment_method_types": .string(methodTypes.joined(separator: ","))])
        let adminToken = environment["ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let adminToken, adminToken.count < 16 {
            throw StartupError(message: "ADMIN_TOKEN must be at least 16 characters (it can reload and roll back policies)")
        }
        // Policies first: a policy set that does not load stops the server (POLICY.md).
        let policyDirectory = policyDir ?? environment["POLICY_DIR"] ?? "policies"
        let policies: PolicyEngine
        do {
            var limits = PolicyLimits.default
            limits.timeLimit = policyTimeLimit(option: policyTimeLimitMs, environment: environment)
            policies = try PolicyEngine(directory: policyDirectory, limits: limits, logger: Logger(label: "chittycharge.policy"), metricsFactory: metrics)
        } catch {
            throw StartupError(message: "policy folder \(policyDirectory) does not load: \(error.message)")
        }
        logger.info("policies loaded", metadata: ["policy.revision": .string(policies.revision.id), "policy.dir": .string(policyDirectory)])

        // Client and admin tokens are checked before the store opens: a refusal leaves nothing open.
        let sharedToken = environment["CHITTY_ID_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var authenticator = ClientAuthenticator()
        if let sharedToken { authenticator.addSharedToken(sharedToken) }
        if let path = clientsFile ?? environment["CHITTYCHARGE_CLIENTS_FILE"] {
            do {
                try authenticator.addClients(fileContents: String(contentsOfFile: path, encoding: .utf8))
            } catch {
                throw StartupError(message: "clients file \(path): \(error)")
            }
        }
        if let adminToken, authenticator.client(forToken: adminToken) != nil {
            throw StartupError(message: "ADMIN_TOKEN must differ from every client token (CHITTY_ID_TOKEN, CHITTYCHARGE_CLIENTS_FILE)")
        }
        if adminToken == nil {
            logger.notice("ADMIN_TOKEN is not set: /admin routes answer 503; policies still reload on SIGHUP")
        }
        let store = try await openStore(environment: environment, logger: logger)

        var services: [any Service] = []
        var stripeMode: String?
        var webhookSecret = environment["STRIPE_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        var emulatorToWire: StripeEmulator?
        var gateway: (any PaymentGateway)?
        let stripeKey = environment["STRIPE_SECRET_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch stripe {
        case "emulator"?:
            let emulator = StripeEmulator()
            gateway = StripeClient(transport: StripeEmulatorTransport(emulator: emulator), secretKey: "sk_test_emulator",
                                   logger: Logger(label: "chittycharge.stripe"))
            stripeMode = "emulator"
            emulatorToWire = emulator
            if webhookSecret == nil {
                // The emulator signs its webhooks; a fresh secret per run is enough locally.
                webhookSecret = "whsec_emulator_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            }
            if stripeKey != nil {
                logger.warning("--stripe emulator given: STRIPE_SECRET_KEY is ignored")
            }
            logger.warning("STRIPE EMULATOR in use: holds are simulated in memory, no card is charged, and they are lost on restart")
            if stripeEmulatorPort > 0 {
                let emulatorApp = StripeEmulatorServer.buildApplication(
                    emulator: emulator, host: "127.0.0.1", port: stripeEmulatorPort, logger: Logger(label: "chittycharge.stripe-emulator"))
                services.append(emulatorApp)
                logger.notice("Stripe emulator API on http://127.0.0.1:\(stripeEmulatorPort)/v1 (authorise a hold: POST /v1/payment_intents/{id}/confirm payment_method=pm_card_visa)")
            }
        case nil:
            if let stripeKey {
                let base = environment["STRIPE_API_BASE"] ?? "https://api.stripe.com"
                gateway = StripeClient(
                    transport: HTTPClientStripeTransport(httpClient: .shared, apiBase: base), secretKey: stripeKey,
                    logger: Logger(label: "chittycharge.stripe"))
                stripeMode = stripeKey.hasPrefix("sk_live_") || stripeKey.hasPrefix("rk_live_") ? "live" : "test"
                logger.info("Stripe configured", metadata: ["stripe.mode": .string(stripeMode ?? ""), "stripe.api_base": .string(base)])
            } else {
                logger.warning("Stripe is not configured (no STRIPE_SECRET_KEY, no --stripe emulator): hold routes will answer 503")
            }
        case let other?:
            throw StartupError(message: "--stripe accepts only 'emulator' (got '\(other)'); for real Stripe set STRIPE_SECRET_KEY")
        }

        var chittyIDMode: String?
        let minter: any ChittyIDMinter
        switch chittyid {
        case "emulator"?:
            minter = EmulatedChittyIDMinter()
            chittyIDMode = "emulator"
            logger.warning("CHITTYID EMULATOR in use: ChittyIDs are minted locally (CHITTY-AUTH-EMU-…), not by the ChittyID service")
        case nil:
            if let sharedToken {
                let url = environment["CHITTYID_URL"] ?? "https://id.chitty.cc"
                minter = HTTPChittyIDMinter(httpClient: .shared, baseURL: url, token: sharedToken)
                chittyIDMode = "remote"
            } else {
                minter = UnconfiguredMinter()
                logger.warning("ChittyID is not configured (no CHITTY_ID_TOKEN, no --chittyid emulator): holds wait with chitty_id pending")
            }
        case let other?:
            throw StartupError(message: "--chittyid accepts only 'emulator' (got '\(other)')")
        }

        if authenticator.isEmpty {
            logger.warning("no client tokens configured (CHITTY_ID_TOKEN, CHITTYCHARGE_CLIENTS_FILE): every /api request will be 401")
        }

        let origins = (allowedOrigins ?? environment["ALLOWED_ORIGINS"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let service = HoldService(
            store: store, gateway: gateway, minter: minter, policies: policies,
            configuration: .init(defaultCurrency: (currency ?? environment["CURRENCY"] ?? "usd").lowercased(), paymentMethodTypes: methodTypes),
            logger: Logger(label: "chittycharge.holds"), metricsFactory: metrics)
        let configuration = ServerConfiguration(
            host: host ?? environment["HOST"] ?? "127.0.0.1",
            port: listenPort,
            allowedOrigins: origins, stripeMode: stripeMode, chittyIDMode: chittyIDMode, database: "sqlite",
            webhookSecret: webhookSecret, requestTimeout: .seconds(requestTimeoutSeconds), idleTimeout: .seconds(idleTimeoutSeconds),
            backtestRoot: (policyBacktestRoot ?? environment["POLICY_BACKTEST_ROOT"]).flatMap { $0.isEmpty ? nil : $0 })
        if webhookSecret == nil {
            logger.warning("STRIPE_WEBHOOK_SECRET is not set: /webhook answers 503 and Stripe keeps retrying its events")
        }
        if let emulator = emulatorToWire, let webhookSecret {
            // Like a Stripe dashboard endpoint pointed at this server.
            let host = configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host
            await emulator.configureWebhookEndpoint(url: "http://\(host):\(configuration.port)/webhook", secret: webhookSecret)
            logger.notice("Stripe emulator sends signed webhooks to http://\(host):\(configuration.port)/webhook")
        }
        let reloader = PolicyReloader(engine: policies, directory: policyDirectory, store: store, logger: Logger(label: "chittycharge.policy"))
        await reloader.recordStartup()
        let app = buildApplication(
            ChittyChargeDependencies(service: service, authenticator: authenticator, configuration: configuration,
                                     policyReloader: reloader, adminAuthenticator: AdminAuthenticator(token: adminToken), metrics: metrics),
            logger: Logger(label: "chittycharge.http"))
        services.append(PolicyReloadOnSignal(reloader: reloader, logger: Logger(label: "chittycharge.policy")))
        services.append(BackgroundWork(
            holds: service, mintInterval: .seconds(2), recoveryInterval: .seconds(30),
            reconciliationInterval: .seconds(300), reconciliationQuietPeriod: 15 * 60, logger: logger))
        services.append(app)
        logger.notice("ChittyCharge listening on http://\(configuration.host):\(configuration.port)",
                      metadata: ["stripe.mode": .string(stripeMode ?? "not_configured"), "chittyid.mode": .string(chittyIDMode ?? "not_configured")])
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await store.close()
            throw StartupError(message: "server stopped: \(error)")
        }
        try await store.close()
        logger.notice("ChittyCharge stopped")
    }

    private func resolvedPort(_ environment: [String: String]) throws -> Int {
        let text = port.map(String.init) ?? environment["PORT"] ?? "8787"
        guard let number = Int(text), (0...65_535).contains(number) else {
            throw StartupError(message: "the port must be a number from 0 to 65535, got '\(text)' (--port or PORT)")
        }
        return number
    }

    private func openStore(environment: [String: String], logger: Logger) async throws -> SQLiteHoldStore {
        let url = databaseURL ?? environment["DATABASE_URL"] ?? "sqlite://./chittycharge.sqlite"
        guard url.hasPrefix("sqlite://") else {
            if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
                throw StartupError(message: "DATABASE_URL names PostgreSQL, which this build does not support yet; use sqlite:///path")
            }
            throw StartupError(message: "DATABASE_URL must look like sqlite:///absolute/path or sqlite://./relative/path, got '\(url)'")
        }
        let path = String(url.dropFirst("sqlite://".count))
        guard !path.isEmpty else { throw StartupError(message: "DATABASE_URL has no file path: '\(url)'") }
        do {
            let store = try await SQLiteHoldStore.open(path: path, logger: Logger(label: "chittycharge.store"))
            logger.info("store opened", metadata: ["database": .string("sqlite"), "database.path": .string(path)])
            return store
        } catch {
            throw StartupError(message: "could not open the SQLite store at \(path): \(error)")
        }
    }
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

struct StripeEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stripe-emulator",
        abstract: "Run only the Stripe emulator's HTTP API (point STRIPE_API_BASE at it).")

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: Int = 12111

    func run() async throws {
        let logger = Logger(label: "chittycharge.stripe-emulator")
        let app = StripeEmulatorServer.buildApplication(emulator: StripeEmulator(), host: host, port: port, logger: logger)
        logger.notice("STRIPE EMULATOR listening on http://\(host):\(port)/v1 (any sk_test_ key; nothing is charged)")
        try await app.runService()
    }
}
