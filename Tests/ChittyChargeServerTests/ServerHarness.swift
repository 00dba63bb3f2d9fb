import JSON
import AsyncHTTPClient
import ChittyCharge
import ChittyChargeServer
import ChittyChargeTestSupport
import ChittyChargeWiring
import ChittyIDClient
import Crypto
import Foundation
import HoldStoreSQLite
import Hummingbird
import HummingbirdTesting
import Logging
import MetricsTestKit
import NIOCore
import NIOHTTP1
import Prometheus
import StripeAPI
import StripeEmulator

/// The whole service on real sockets: our app on a live port, talking over HTTP to the
/// Stripe emulator on another live port, with a SQLite store in a temporary file.
struct ServerHarness {
    let api: APIClient
    let emulator: StripeEmulator
    let emulatorBaseURL: String
    let store: SQLiteHoldStore
    let minter: EmulatedChittyIDMinter
    let holds: HoldServices
    let policies: PolicyEngine
    let gateway: StripeClient
    let reloader: PolicyReloader
    /// The policy folder the server reloads (a temporary copy of ../policies).
    let policyDirectory: String

    static let token = "test-token-0123456789"
    static let partnerToken = "partner-token-abcdef"
    static let adminToken = "admin-token-for-tests-0123456789"

    struct Options {
        /// Requests per minute the test policy allows (the shipped policy allows 10).
        var rateLimit: Int? = 10_000
        var stripeConfigured = true
        var faultPoint: FaultPoint?
        /// Wraps the HTTP transport to Stripe, to lose responses and the like.
        var wrapTransport: (@Sendable (any StripeTransport) -> any StripeTransport)?
        var extraPolicy: String?
        /// The emulator posts signed webhooks to our /webhook (off by default, so tests of
        /// our own calls see only what those calls did).
        var webhooks = false
        /// With webhooks on: send each event as it happens (else tests send them).
        var automaticWebhooks = true
        var webhookSecret: String? = ServerHarness.webhookSecret
        /// The service's clock (the emulator keeps real time).
        var clock: (any WallClock)?
        var metrics: TestMetrics?
        /// Where the service (unless `metrics` is set), the policy engine and the HTTP layer
        /// record, and what `/metrics` serves.
        var prometheus: PrometheusMetricsFactory = .chittyCharge()
        /// The application's logger (request log lines); quiet unless a test listens.
        var logger: Logger?
        /// Nil: admin routes answer 503.
        var adminToken: String? = ServerHarness.adminToken
        /// `POLICY_BACKTEST_ROOT`; nil: backtest candidates come as files only.
        var backtestRoot: String?
        var requestTimeout: Duration = .seconds(30)
        var idleTimeout: Duration = .seconds(60)
        /// The clients file (`CHITTYCHARGE_CLIENTS_FILE`) beside the shared token.
        var clientsFile = "# test clients\npartner:\(sha256Hex(ServerHarness.partnerToken))\n"
    }

    static let webhookSecret = "whsec_test_harness_secret"

    static let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static func policyDirectory(_ options: Options) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("policies")
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("cc-policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) where file.hasSuffix(".lua") {
            var text = try String(contentsOf: source.appendingPathComponent(file), encoding: .utf8)
            if file == "policy.lua" {
                if let limit = options.rateLimit {
                    text = text.replacingOccurrences(of: "local RATE_LIMIT          = 10", with: "local RATE_LIMIT          = \(limit)")
                }
                if let extra = options.extraPolicy { text += "\n" + extra + "\n" }
            }
            try text.write(to: target.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return target.path
    }

    static func run(_ options: Options = Options(), _ body: @Sendable (ServerHarness) async throws -> Void) async throws {
        let emulator = StripeEmulator()
        let emulatorApp = StripeEmulatorServer.buildApplication(emulator: emulator, host: "127.0.0.1", port: 0, logger: quietLogger)
        try await emulatorApp.test(.live) { emulatorClient in
            let emulatorBase = "http://127.0.0.1:\(emulatorClient.port!)"
            var transport: any StripeTransport = HTTPClientStripeTransport(httpClient: .shared, apiBase: emulatorBase, timeout: .seconds(10))
            if let wrap = options.wrapTransport { transport = wrap(transport) }
            let gateway = StripeClient(
                transport: transport, secretKey: "sk_test_harness",
                retryPolicy: StripeRetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5)),
                logger: quietLogger, sleep: { _ in })
            // Before the store opens: a refused clients file must not leave it open.
            var authenticator = ClientAuthenticator()
            authenticator.addSharedToken(token)
            try authenticator.addClients(fileContents: options.clientsFile)
            let databasePath = FileManager.default.temporaryDirectory.appendingPathComponent("cc-\(UUID().uuidString).sqlite").path
            let policyFolder = try policyDirectory(options)
            let policies = try PolicyEngine(directory: policyFolder, logger: quietLogger, metricsFactory: options.prometheus)
            let minter = EmulatedChittyIDMinter()
            var loggers = ChittyChargeSystem.Loggers(all: quietLogger)
            loggers.http = options.logger ?? quietLogger
            let system = try await ChittyChargeSystem.build(
                .init(databasePath: databasePath, policyDirectory: policyFolder,
                      stripe: options.stripeConfigured ? .gateway(gateway, mode: "emulator") : .notConfigured,
                      chittyID: .emulator(minter), holds: .init(recoveryGrace: 0),
                      server: ServerConfiguration(
                          host: "127.0.0.1", port: 0, webhookSecret: options.webhookSecret,
                          requestTimeout: options.requestTimeout, idleTimeout: options.idleTimeout, backtestRoot: options.backtestRoot),
                      authenticator: authenticator, adminToken: options.adminToken,
                      clock: options.clock ?? SystemWallClock(), faultPoint: options.faultPoint),
                policies: policies, loggers: loggers,
                metrics: options.prometheus, holdMetrics: options.metrics)
            let store = system.store
            let app = system.application()
            // The store is closed whatever the test does: an open connection left to
            // deinit stops the whole test process.
            do {
                try await app.test(.live) { client in
                    if options.webhooks, let secret = options.webhookSecret {
                        await emulator.configureWebhookEndpoint(
                            url: "http://127.0.0.1:\(client.port!)/webhook", secret: secret, automaticDelivery: options.automaticWebhooks)
                    }
                    let harness = ServerHarness(
                        api: APIClient(baseURL: "http://127.0.0.1:\(client.port!)"), emulator: emulator, emulatorBaseURL: emulatorBase,
                        store: store, minter: minter, holds: system.holds, policies: policies, gateway: gateway,
                        reloader: system.reloader, policyDirectory: policyFolder)
                    try await body(harness)
                }
            } catch {
                try? await system.close()
                throw error
            }
            try await system.close()
        }
    }

    /// The customer authorising the hold in the browser: Stripe.js confirms the intent.
    func authorise(_ holdID: String, paymentMethod: String = "pm_card_visa") async throws -> APIClient.Reply {
        try await APIClient(baseURL: emulatorBaseURL).send(
            .POST, "/v1/payment_intents/\(holdID)/confirm",
            headers: ["Authorization": "Bearer sk_test_browser", "Content-Type": "application/x-www-form-urlencoded"],
            body: Data("payment_method=\(paymentMethod)".utf8))
    }

    func stripeCalls(_ method: String, pathSuffix: String) async -> [StripeEmulatorCall] {
        await emulator.calls().filter { $0.method == method && $0.path.hasSuffix(pathSuffix) }
    }

    /// Posts a webhook body signed as Stripe would (or with the given header).
    func postWebhook(_ body: Data, signature: String? = nil, secret: String = ServerHarness.webhookSecret,
                     timestamp: Int64 = Int64(Date().timeIntervalSince1970)) async throws -> APIClient.Reply {
        let header = signature ?? StripeWebhookSignature.header(payload: body, secret: secret, timestamp: timestamp)
        return try await api.send(.POST, "/webhook", headers: ["Content-Type": "application/json", "Stripe-Signature": header], body: body)
    }

    /// Places a hold and has the customer authorise it; returns its id.
    func authorisedHold(amount: Int = 20_000) async throws -> String {
        let created = try await api.createHold(["amount": .integer(Int64(amount)), "description": "Security deposit"])
        guard created.status == 201, let id = created.json["id"]?.stringValue else {
            throw HarnessError("create failed: \(created.status) \(created.text)")
        }
        let confirmed = try await authorise(id)
        guard confirmed.status == 200 else { throw HarnessError("confirm failed: \(confirmed.text)") }
        return id
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

/// A small HTTP client over AsyncHTTPClient for the tests: real sockets, any headers,
/// concurrent use.
struct APIClient: Sendable {
    let baseURL: String
    var token: String? = ServerHarness.token

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    func send(_ method: NIOHTTP1.HTTPMethod, _ path: String, headers: [String: String] = [:], body: Data? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 4 * 1024 * 1024)
        var replyHeaders: [String: String] = [:]
        for header in response.headers { replyHeaders[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: replyHeaders, body: Data(collected.readableBytesView))
    }

    /// An authenticated API call with a JSON body.
    func call(_ method: NIOHTTP1.HTTPMethod, _ path: String, json: JSONValue? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var all = headers
        if let token, all["ChittyID-Token"] == nil { all["ChittyID-Token"] = token }
        var body: Data?
        if let json {
            body = try JSONEncoder().encode(json)
            all["Content-Type"] = all["Content-Type"] ?? "application/json"
        }
        return try await send(method, path, headers: all, body: body)
    }

    func createHold(_ fields: [String: JSONValue], headers: [String: String] = [:]) async throws -> Reply {
        try await call(.POST, "/api/holds", json: .object(fields), headers: headers)
    }
}
