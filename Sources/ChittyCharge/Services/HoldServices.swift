import Foundation
import Logging
import Metrics
import PolicyEngine

/// The hold services, wired once over one store. Each is a small type with one job and
/// only the store slice it needs; the arrows go one way:
///
///     HoldPlacement ─→ HoldCreator ─→ SchedulePlanner
///                          └────────→ StripeSync ─→ SchedulePlanner
///     HoldOperations ─→ StripeSync
///     ScheduleRunner ─→ HoldOperations, HoldCreator, SchedulePlanner
///     Recovery ─→ HoldCreator, HoldOperations
///     HoldQueries ─→ StripeSync
///     BookingEvents ─→ SchedulePlanner
///     ChittyIDOutboxWorker (alone)
public struct HoldServices: Sendable {
    public let placement: HoldPlacement
    public let operations: HoldOperations
    public let queries: HoldQueries
    public let stripeSync: StripeSync
    public let planner: SchedulePlanner
    public let scheduler: ScheduleRunner
    public let recovery: Recovery
    public let bookingEvents: BookingEvents
    public let chittyIDOutbox: ChittyIDOutboxWorker
    public let metrics: HoldMetrics
    public let configuration: HoldServiceConfiguration
    /// Nil when Stripe is not configured: hold routes then answer 503.
    public let gateway: (any PaymentGateway)?

    /// `logger` is for the services' own work (recovery, the scheduler, the outbox);
    /// requests pass theirs to each call.
    public init(store: any HoldStore, gateway: (any PaymentGateway)?, minter: any ChittyIDMinter, policies: PolicyEngine,
                clock: any WallClock = SystemWallClock(), configuration: HoldServiceConfiguration = .init(), logger: Logger,
                metricsFactory: any MetricsFactory = MetricsSystem.factory, faultPoint: FaultPoint? = nil) {
        let metrics = HoldMetrics(factory: metricsFactory)
        let planner = SchedulePlanner(store: store, policies: policies, clock: clock, configuration: configuration, metrics: metrics, logger: logger)
        let stripeSync = StripeSync(store: store, gateway: gateway, planner: planner, clock: clock, logger: logger)
        let creator = HoldCreator(store: store, minter: minter, planner: planner, stripeSync: stripeSync, clock: clock,
                                  logger: logger, faultPoint: faultPoint)
        let operations = HoldOperations(store: store, gateway: gateway, stripeSync: stripeSync, clock: clock,
                                        configuration: configuration, metrics: metrics,
                                        logger: logger, faultPoint: faultPoint)
        self.placement = HoldPlacement(store: store, gateway: gateway, creator: creator, policies: policies, clock: clock,
                                       configuration: configuration, metrics: metrics)
        self.operations = operations
        self.queries = HoldQueries(store: store, stripeSync: stripeSync)
        self.stripeSync = stripeSync
        self.planner = planner
        self.scheduler = ScheduleRunner(store: store, gateway: gateway, operations: operations, creator: creator, planner: planner,
                                        clock: clock, configuration: configuration, metrics: metrics, logger: logger)
        self.recovery = Recovery(store: store, gateway: gateway, creator: creator, operations: operations, clock: clock,
                                 configuration: configuration, logger: logger)
        self.bookingEvents = BookingEvents(store: store, planner: planner, clock: clock, logger: logger)
        self.chittyIDOutbox = ChittyIDOutboxWorker(store: store, minter: minter, clock: clock, configuration: configuration, logger: logger)
        self.metrics = metrics
        self.configuration = configuration
        self.gateway = gateway
    }
}
