import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import PolicyEngine
import Prometheus
import Synchronization

/// Everything the HTTP layer is built from. Tests build the same application with an
/// emulator-backed service and a temporary store.
public struct ChittyChargeDependencies: Sendable {
    public var holds: HoldServices
    /// What `/metrics` reads its gauges from and the backtest reads decisions from.
    public var store: any OperationalGaugeSource & PolicyDecisionLog & CreateOperationRecords & OriginSightingLog & DatabaseHealth & ClusterRegistry
    public var policies: PolicyEngine
    public var clock: any WallClock
    public var authenticator: ClientAuthenticator
    /// In memory for one instance; `LeasedRateLimiter` when instances share the store.
    public var rateLimiter: any RateLimiter
    public var configuration: ServerConfiguration
    /// Reload and rollback behind `/admin/policies…`; nil leaves those routes unregistered.
    public var policyReloader: PolicyReloader?
    public var adminAuthenticator: AdminAuthenticator
    /// What `/metrics` serves, and where the HTTP layer's own metrics go. Pass the factory the
    /// service and the policy engine were given (`serve` does), or their metrics are missing.
    public var metrics: PrometheusMetricsFactory

    public init(holds: HoldServices, store: any OperationalGaugeSource & PolicyDecisionLog & CreateOperationRecords & OriginSightingLog & DatabaseHealth & ClusterRegistry, policies: PolicyEngine,
                clock: any WallClock, authenticator: ClientAuthenticator,
                rateLimiter: any RateLimiter = FixedWindowRateLimiter(), configuration: ServerConfiguration,
                policyReloader: PolicyReloader? = nil, adminAuthenticator: AdminAuthenticator = AdminAuthenticator(token: nil),
                metrics: PrometheusMetricsFactory = .chittyCharge()) {
        self.holds = holds
        self.store = store
        self.policies = policies
        self.clock = clock
        self.authenticator = authenticator
        self.rateLimiter = rateLimiter
        self.configuration = configuration
        self.policyReloader = policyReloader
        self.adminAuthenticator = adminAuthenticator
        self.metrics = metrics
    }
}

public func buildRouter(_ dependencies: ChittyChargeDependencies) -> Router<ChittyChargeRequestContext> {
    let router = Router(context: ChittyChargeRequestContext.self)
    let policies = dependencies.policies
    let serverMetrics = ServerMetrics(factory: dependencies.metrics)
    serverMetrics.registerKnownSeries(clients: dependencies.authenticator.clients.map(\.name))
    dependencies.holds.metrics.registerKnownSeries()
    router.add(middleware: ErrorMiddleware(metrics: serverMetrics))
    router.add(middleware: CORSPolicyMiddleware(
        policies: policies, allowedOrigins: dependencies.configuration.allowedOrigins,
        sightings: OriginSightingRecorder(store: dependencies.store)))

    // The body changes only with the policy revision and the database's state: it is written
    // once per change rather than per check (encoding it was about 4 % of a `GET /health`).
    let healthBody = Mutex<(revision: String, database: DatabaseStatus, body: ByteBuffer)?>(nil)
    router.get("/health") { _, _ -> Response in
        // The store's last word, not a query per check: health checks come often.
        let database = dependencies.store.databaseStatus()
        let revision = policies.revision.id
        let status: HTTPResponse.Status = database.reachable ? .ok : .serviceUnavailable
        if let cached = healthBody.withLock({ $0 }), cached.revision == revision, cached.database == database {
            return Response(status: status, headers: [.contentType: APIError.jsonContentType], body: .init(byteBuffer: cached.body))
        }
        let configuration = dependencies.configuration
        var body: [String: JSONValue] = [
            "status": database.reachable ? "healthy" : "unhealthy",
            "service": "chittycharge",
            "version": .string(configuration.version),
            "stripe_connected": .bool(configuration.stripeMode != nil),
            "stripe_mode": configuration.stripeMode.map(JSONValue.string) ?? "not_configured",
            "chittyid_connected": .bool(configuration.chittyIDMode != nil),
            "chittyid_mode": configuration.chittyIDMode.map(JSONValue.string) ?? "not_configured",
            "policy_revision": .string(revision),
            "database": .string(configuration.database),
            "database_reachable": .bool(database.reachable),
        ]
        if let problem = database.problem { body["database_error"] = .string(problem) }
        let encoded = ByteBuffer(bytes: HoldJSON.body(.object(body)))
        healthBody.withLock { $0 = (revision, database, encoded) }
        // A load balancer takes an instance whose database is unreachable out of rotation.
        return Response(status: status, headers: [.contentType: APIError.jsonContentType], body: .init(byteBuffer: encoded))
    }

    WebhookRoute(stripeSync: dependencies.holds.stripeSync, clock: dependencies.clock, secret: dependencies.configuration.webhookSecret,
                 tolerance: dependencies.configuration.webhookTolerance, metrics: serverMetrics).register(on: router)
    MetricsRoute(registry: dependencies.metrics.registry, factory: dependencies.metrics, store: dependencies.store, policies: policies,
                 clock: dependencies.clock, expiryMargin: dependencies.holds.configuration.expiryMargin).register(on: router)

    let holds = router.group("api/holds")
        .add(middleware: ClientAuthMiddleware(authenticator: dependencies.authenticator))
        .add(middleware: RateLimitMiddleware(policies: policies, limiter: dependencies.rateLimiter, metrics: serverMetrics))
        .add(middleware: StripeConfiguredMiddleware(configured: dependencies.holds.gateway != nil))
    let holdRoutes = HoldRoutes(services: dependencies.holds, bodies: HoldBodyCache())
    holdRoutes.register(on: holds)

    let admin = router.group("admin").add(middleware: AdminAuthMiddleware(authenticator: dependencies.adminAuthenticator))
    holdRoutes.registerReads(on: admin.group("holds"))
    if let reloader = dependencies.policyReloader {
        AdminRoutes(reloader: reloader, registry: dependencies.store, instanceID: dependencies.configuration.instanceID,
                    configuredOrigins: dependencies.configuration.allowedOrigins).register(on: admin)
        PolicyBacktestRoute(decisions: dependencies.store, policies: policies, root: dependencies.configuration.backtestRoot,
                            configuredOrigins: dependencies.configuration.allowedOrigins).register(on: admin)
    }

    return router
}

public func buildApplication(_ dependencies: ChittyChargeDependencies, logger: Logger) -> Application<RouterResponder<ChittyChargeRequestContext>> {
    Application(
        router: buildRouter(dependencies),
        server: .timedHTTP1(requestTimeout: dependencies.configuration.requestTimeout, idleTimeout: dependencies.configuration.idleTimeout),
        configuration: .init(address: .hostname(dependencies.configuration.host, port: dependencies.configuration.port), serverName: "chittycharge"),
        logger: logger)
}

/// Without Stripe there is nothing a hold route can do: say so plainly (503).
struct StripeConfiguredMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext
    let configured: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard configured else { throw HoldServiceError.stripeNotConfigured }
        return try await next(request, context)
    }
}
