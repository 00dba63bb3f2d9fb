import AsyncHTTPClient
import ChittyCharge
import ChittyChargeServer
import ChittyChargeTestSupport
import ChittyChargeWiring
import ChittyIDClient
import Crypto
import Foundation
import HoldStoreSQLite
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSON
import Logging
import MetricsTestKit
import NIOCore
import NIOHTTP1
import PolicyEngine
import Prometheus
import StripeAPI
import StripeEmulator

/// The whole service: our application (reached through Hummingbird's in-process router
/// test client, or on a live port when a test needs the socket), talking over HTTP to the
/// Stripe emulator on a live port, with a SQLite store in a temporary file.
struct ServerHarness {
    let api: APIClient
    let emulator: StripeEmulator
    let emulatorBaseURL: String
    let store: any HoldStore
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
        /// `CHITTYCHARGE_ADMINS_FILE`'s contents: named admins beside `adminToken`.
        var adminsFile = ""
        /// `ALLOWED_ORIGINS` (empty: the policy's settings decide).
        var allowedOrigins: [String] = []
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
        /// Serve on a live port (raw connections, timeouts, the emulator's webhooks): the
        /// router test client is used otherwise, which is all most tests need.
        var overSockets = false
        var requestTimeout: Duration = .seconds(30)
        var idleTimeout: Duration = .seconds(60)
        /// The clients file (`CHITTYCHARGE_CLIENTS_FILE`) beside the shared token.
        var clientsFile = "# test clients\npartner:\(sha256Hex(ServerHarness.partnerToken))\n"
    }

    static let webhookSecret = "whsec_test_harness_secret"

    static let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static func policyDirectory(_ options: Options) throws -> String {
        try ShippedPolicy.copy { name, text in
            guard name == "policy.lua" else { return text }
            var text = text
            if let limit = options.rateLimit {
                text = try ShippedPolicy.replacing("local RATE_LIMIT          = 10", with: "local RATE_LIMIT          = \(limit)", in: text)
            }
            if let extra = options.extraPolicy { text += "\n" + extra + "\n" }
            return text
        }
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
            var admins = ClientAuthenticator()
            try admins.addClients(fileContents: options.adminsFile)
            var configuration = ChittyChargeSystem.Configuration(databasePath: databasePath, policyDirectory: policyFolder,
                      stripe: options.stripeConfigured ? .gateway(gateway, mode: "emulator") : .notConfigured,
                      chittyID: .emulator(minter), holds: .init(recoveryGrace: 0),
                      server: ServerConfiguration(
                          host: "127.0.0.1", port: 0, allowedOrigins: options.allowedOrigins, webhookSecret: options.webhookSecret,
                          requestTimeout: options.requestTimeout, idleTimeout: options.idleTimeout, backtestRoot: options.backtestRoot),
                      authenticator: authenticator, adminToken: options.adminToken,
                      clock: options.clock ?? SystemWallClock(), faultPoint: options.faultPoint)
            configuration.admins = admins
            let system = try await ChittyChargeSystem.build(
                configuration,
                policies: policies, loggers: loggers,
                metrics: options.prometheus, holdMetrics: options.metrics)
            let store = system.store
            let app = system.application()
            // The store is closed whatever the test does: an open connection left to
            // deinit stops the whole test process.
            do {
                try await app.test(options.overSockets || options.webhooks ? .live : .router) { client in
                    let api: APIClient
                    if let port = client.port {
                        api = APIClient(baseURL: "http://127.0.0.1:\(port)")
                        if options.webhooks, let secret = options.webhookSecret {
                            await emulator.configureWebhookEndpoint(
                                url: "http://127.0.0.1:\(port)/webhook", secret: secret, automaticDelivery: options.automaticWebhooks)
                        }
                    } else {
                        api = APIClient(router: client)
                    }
                    let harness = ServerHarness(
                        api: api, emulator: emulator, emulatorBaseURL: emulatorBase,
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

/// A small HTTP client for the tests, any headers, concurrent use: over AsyncHTTPClient to a
/// live port, or straight into the application through Hummingbird's router test client.
struct APIClient: Sendable {
    enum Route: Sendable {
        case socket(baseURL: String)
        case router(any TestClientProtocol)
    }

    let route: Route
    var token: String? = ServerHarness.token

    init(baseURL: String, token: String? = ServerHarness.token) {
        route = .socket(baseURL: baseURL)
        self.token = token
    }

    init(router: any TestClientProtocol, token: String? = ServerHarness.token) {
        route = .router(router)
        self.token = token
    }

    /// The same server, another token (nil: none).
    func with(token: String?) -> APIClient {
        var client = self
        client.token = token
        return client
    }

    /// The live port, for tests that open their own connections (`overSockets`).
    var port: Int? {
        guard case .socket(let baseURL) = route else { return nil }
        return URLComponents(string: baseURL)?.port
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    func send(_ method: NIOHTTP1.HTTPMethod, _ path: String, headers: [String: String] = [:], body: Data? = nil) async throws -> Reply {
        switch route {
        case .socket(let baseURL):
            return try await sendOverSocket(baseURL, method, path, headers: headers, body: body)
        case .router(let client):
            var fields = HTTPFields()
            for (name, value) in headers {
                guard let field = HTTPField.Name(name) else { throw HarnessError("bad header name \(name)") }
                fields.append(HTTPField(name: field, value: value))
            }
            let response = try await client.executeRequest(
                uri: path, method: HTTPRequest.Method(rawValue: method.rawValue)!, headers: fields, body: body.map { ByteBuffer(bytes: $0) })
            var replyHeaders: [String: String] = [:]
            for field in response.headers { replyHeaders[field.name.canonicalName] = field.value }
            return Reply(status: response.status.code, headers: replyHeaders, body: Data(response.body.readableBytesView))
        }
    }

    private func sendOverSocket(_ baseURL: String, _ method: NIOHTTP1.HTTPMethod, _ path: String, headers: [String: String],
                                body: Data?) async throws -> Reply {
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
