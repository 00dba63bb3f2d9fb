import ArgumentParser
import ChittyCharge
import ChittyChargeServer
import ChittyChargeWiring
import Foundation
import HoldStorePostgres
import Hummingbird
import Logging
import Metrics
import PolicyEngine
import Prometheus
import ServiceLifecycle
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
    @Option(help: "sqlite:///path/to/file, or postgres://user:password@host:port/database?sslmode=disable|require|verify-full to share one database between instances ($DATABASE_URL, default sqlite://./chittycharge.sqlite).")
    var databaseURL: String?
    @Option(help: "PostgreSQL connections per instance ($DATABASE_POOL_SIZE, default 10).") var databasePoolSize: Int?
    @Option(help: "Policy folder ($POLICY_DIR, default ./policies).") var policyDir: String?
    @Option(help: "Milliseconds one policy hook call may run ($POLICY_TIME_LIMIT_MS, default 50).") var policyTimeLimitMs: Int?
    @Option(help: "'emulator' to use the built-in Stripe emulator instead of STRIPE_SECRET_KEY.") var stripe: String?
    @Option(help: "Port for the Stripe emulator's own HTTP API when --stripe emulator (0: none).") var stripeEmulatorPort: Int = 8788
    @Option(help: "'emulator' to mint ChittyIDs locally instead of calling CHITTYID_URL.") var chittyid: String?
    @Option(help: "Named client tokens file ($CHITTYCHARGE_CLIENTS_FILE).") var clientsFile: String?
    @Option(help: "Named admin tokens file ($CHITTYCHARGE_ADMINS_FILE): name:sha256hex lines, as the clients file.") var adminsFile: String?
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
        LoggingSystem.bootstrap { label -> any LogHandler in
            var handler: any LogHandler = format == "json" ? JSONLogHandler.standardOutput(label: label) : TextLogHandler.standardOutput(label: label)
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
        var admins = ClientAuthenticator()
        if let path = adminsFile ?? environment["CHITTYCHARGE_ADMINS_FILE"] {
            do {
                try admins.addClients(fileContents: String(contentsOfFile: path, encoding: .utf8))
            } catch {
                throw StartupError(message: "admins file \(path): \(error)")
            }
        }
        if adminToken == nil && admins.clients.isEmpty {
            logger.notice("ADMIN_TOKEN is not set: /admin routes answer 503; policies still reload on SIGHUP")
        }
        let database = try databaseSetup(environment)

        // --stripe and --chittyid were checked above: nil or "emulator".
        let stripeSetup: ChittyChargeSystem.StripeSetup
        let stripeKey = environment["STRIPE_SECRET_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if stripe == "emulator" {
            if stripeKey != nil {
                logger.warning("--stripe emulator given: STRIPE_SECRET_KEY is ignored")
            }
            stripeSetup = .emulator(StripeEmulator(), apiPort: stripeEmulatorPort > 0 ? stripeEmulatorPort : nil, sendsWebhooks: true)
        } else if let stripeKey {
            stripeSetup = .api(secretKey: stripeKey, apiBase: environment["STRIPE_API_BASE"] ?? "https://api.stripe.com")
        } else {
            stripeSetup = .notConfigured
        }
        let chittyIDSetup: ChittyChargeSystem.ChittyIDSetup
        if chittyid == "emulator" {
            chittyIDSetup = .emulator()
        } else if let sharedToken {
            chittyIDSetup = .remote(baseURL: environment["CHITTYID_URL"] ?? "https://id.chitty.cc", token: sharedToken)
        } else {
            chittyIDSetup = .notConfigured
        }

        let origins = (allowedOrigins ?? environment["ALLOWED_ORIGINS"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var systemConfiguration = ChittyChargeSystem.Configuration(
                database: database, policyDirectory: policyDirectory, stripe: stripeSetup, chittyID: chittyIDSetup,
                holds: .init(defaultCurrency: (currency ?? environment["CURRENCY"] ?? "usd").lowercased(), paymentMethodTypes: methodTypes),
                server: ServerConfiguration(
                    host: host ?? environment["HOST"] ?? "127.0.0.1", port: listenPort, allowedOrigins: origins,
                    webhookSecret: environment["STRIPE_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 },
                    requestTimeout: .seconds(requestTimeoutSeconds), idleTimeout: .seconds(idleTimeoutSeconds),
                    backtestRoot: (policyBacktestRoot ?? environment["POLICY_BACKTEST_ROOT"]).flatMap { $0.isEmpty ? nil : $0 }),
                authenticator: authenticator, adminToken: adminToken)
        systemConfiguration.admins = admins
        let system = try await ChittyChargeSystem.build(
            systemConfiguration,
            policies: policies,
            loggers: .init(
                startup: logger, store: Logger(label: "chittycharge.store"), stripe: Logger(label: "chittycharge.stripe"),
                stripeEmulator: Logger(label: "chittycharge.stripe-emulator"), holds: Logger(label: "chittycharge.holds"),
                policy: Logger(label: "chittycharge.policy"), http: Logger(label: "chittycharge.http")),
            metrics: metrics)
        let configuration = system.dependencies.configuration
        var services: [any Service] = []
        if let emulatorServer = system.stripeEmulatorServer { services.append(emulatorServer) }
        services.append(PolicyReloadOnSignal(reloader: system.reloader, logger: Logger(label: "chittycharge.policy")))
        services.append(system.backgroundWork)
        services.append(system.clusterHeartbeat)
        services.append(system.application())
        logger.notice("ChittyCharge listening on http://\(configuration.host):\(configuration.port)",
                      metadata: ["stripe.mode": .string(configuration.stripeMode ?? "not_configured"),
                                 "chittyid.mode": .string(configuration.chittyIDMode ?? "not_configured")])
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await system.close()
            throw StartupError(message: "server stopped: \(error)")
        }
        try await system.close()
        logger.notice("ChittyCharge stopped")
    }

    private func resolvedPort(_ environment: [String: String]) throws -> Int {
        let text = port.map(String.init) ?? environment["PORT"] ?? "8787"
        guard let number = Int(text), (0...65_535).contains(number) else {
            throw StartupError(message: "the port must be a number from 0 to 65535, got '\(text)' (--port or PORT)")
        }
        return number
    }

    /// The store DATABASE_URL names; the store itself is opened by the wiring.
    private func databaseSetup(_ environment: [String: String]) throws -> ChittyChargeSystem.DatabaseSetup {
        let url = databaseURL ?? environment["DATABASE_URL"] ?? "sqlite://./chittycharge.sqlite"
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let poolText = databasePoolSize.map(String.init) ?? environment["DATABASE_POOL_SIZE"] ?? "10"
            guard let poolSize = Int(poolText) else {
                throw StartupError(message: "DATABASE_POOL_SIZE (--database-pool-size) must be a number, got '\(poolText)'")
            }
            do {
                return .postgres(try PostgresConnectionSettings(url: url, poolSize: poolSize))
            } catch {
                throw StartupError(message: error.description)
            }
        }
        guard url.hasPrefix("sqlite://") else {
            throw StartupError(message: "DATABASE_URL must look like sqlite:///absolute/path, sqlite://./relative/path or postgres://user:password@host:port/database, got '\(url)'")
        }
        let path = String(url.dropFirst("sqlite://".count))
        guard !path.isEmpty else { throw StartupError(message: "DATABASE_URL has no file path: '\(url)'") }
        return .sqlite(path: path)
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
