import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import PolicyEngine
import Prometheus

/// `GET /metrics`: everything in the registry in Prometheus' text format (no token, like
/// `/health`). The gauges of waiting work are read from the store at each scrape, so they
/// are current whenever Prometheus looks and cost nothing in between.
struct MetricsRoute {
    typealias Context = ChittyChargeRequestContext

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// The scheduler runs due actions every 2 s: one still due a minute later is stuck.
    static let overdueAfter: TimeInterval = 60

    let registry: PrometheusCollectorRegistry
    let store: any OperationalGaugeSource
    let policies: PolicyEngine
    let clock: any WallClock
    /// What counts as "no action before expiry" (`HoldServiceConfiguration.expiryMargin`).
    let expiryMargin: TimeInterval
    private let actionsDue: Metrics.Gauge
    private let actionsOverdue: Metrics.Gauge
    private let flaggedHolds: Metrics.Gauge
    private let outboxDepth: Metrics.Gauge

    init(registry: PrometheusCollectorRegistry, factory: any MetricsFactory, store: any OperationalGaugeSource, policies: PolicyEngine,
         clock: any WallClock, expiryMargin: TimeInterval) {
        self.registry = registry
        self.store = store
        self.policies = policies
        self.clock = clock
        self.expiryMargin = expiryMargin
        actionsDue = Metrics.Gauge(label: "chittycharge_scheduled_actions_due", factory: factory)
        actionsOverdue = Metrics.Gauge(label: "chittycharge_scheduled_actions_overdue", factory: factory)
        flaggedHolds = Metrics.Gauge(label: "chittycharge_flagged_holds", dimensions: [("reason", "no_action_before_expiry")], factory: factory)
        outboxDepth = Metrics.Gauge(label: "chittycharge_chittyid_outbox_depth", factory: factory)
    }

    func register(on router: Router<Context>) {
        router.get("/metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, context: Context) async throws -> Response {
        await readGauges(context: context)
        policies.revision.flushPendingMetrics()
        return Response(
            status: .ok, headers: [.contentType: Self.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }

    private func readGauges(context: Context) async {
        do {
            let gauges = try await store.operationalGauges(at: clock.now(), overdueAfter: Self.overdueAfter, expiryMargin: expiryMargin)
            actionsDue.record(gauges.scheduledActionsDue)
            actionsOverdue.record(gauges.scheduledActionsOverdue)
            flaggedHolds.record(gauges.holdsWithoutActionBeforeExpiry)
            outboxDepth.record(gauges.chittyIDOutboxDepth)
        } catch {
            // The counters are worth serving when the store is failing; the gauges say
            // "unknown" (NaN) rather than repeat an old reading.
            context.logger.error("could not read the store's gauges for /metrics", metadata: ["error": "\(error)"])
            for gauge in [actionsDue, actionsOverdue, flaggedHolds, outboxDepth] { gauge.record(Double.nan) }
        }
    }
}
