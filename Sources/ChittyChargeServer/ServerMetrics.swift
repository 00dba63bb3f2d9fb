import HTTPTypes
import Metrics
import Synchronization

/// The HTTP layer's metrics: every response by route template, method and status class,
/// with its duration; rate-limit refusals by client; Stripe webhook deliveries by event type
/// and outcome. Every label has a bounded set of values: routes are the router's templates
/// (`/api/holds/{id}`, never the raw path), unknown routes are one `unmatched`, and methods
/// and event types outside the known ones are `other`.
final class ServerMetrics: Sendable {
    static let requestsLabel = "chittycharge_http_requests_total"
    static let durationLabel = "chittycharge_http_request_duration_seconds"
    static let rateLimitedLabel = "chittycharge_rate_limited_total"
    static let webhookEventsLabel = "chittycharge_webhook_events_total"

    static let unmatchedRoute = "unmatched"
    static let knownMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    /// The events README.md asks operators to send to `/webhook`.
    static let knownEventTypes: Set<String> = [
        "payment_intent.amount_capturable_updated", "payment_intent.canceled", "payment_intent.succeeded",
        "payment_intent.payment_failed", "payment_intent.requires_action", "charge.captured", "charge.expired", "charge.refunded",
    ]

    let factory: any MetricsFactory

    private struct SeriesKey: Hashable {
        var route: String
        var method: String
        var statusClass: Int
    }

    private struct Series: Sendable {
        let responses: Counter
        let duration: Timer
    }

    /// Made on first use and kept: asking the metrics backend for a counter on every
    /// request costs a lookup under its lock.
    private let series = Mutex<[SeriesKey: Series]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// The route label for the template Hummingbird matched (nil or its `NotFound` for none).
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return unmatchedRoute }
        return endpointPath
    }

    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        knownMethods.contains(method.rawValue) ? method.rawValue : "other"
    }

    func recordResponse(route: String, method: HTTPRequest.Method, status: Int, duration: Duration) {
        let key = SeriesKey(route: route, method: Self.methodLabel(method), statusClass: min(max(status / 100, 1), 5))
        let recorded = series.withLock { known in
            if let existing = known[key] { return existing }
            let made = Series(
                responses: Counter(
                    label: Self.requestsLabel,
                    dimensions: [("method", key.method), ("route", key.route), ("status_class", "\(key.statusClass)xx")],
                    factory: factory),
                duration: Timer(label: Self.durationLabel, dimensions: [("method", key.method), ("route", key.route)], factory: factory))
            known[key] = made
            return made
        }
        recorded.responses.increment()
        let (seconds, attoseconds) = duration.components
        recorded.duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The rate-limit and webhook counters at 0 for every known client, event type and
    /// outcome, so alerts see a series from the start (a counter that appears only with its
    /// first event makes `increase()` miss that event and absent-series alerts misfire).
    func registerKnownSeries(clients: [String]) {
        for client in clients {
            _ = Counter(label: Self.rateLimitedLabel, dimensions: [("client", client)], factory: factory)
        }
        for type in Self.knownEventTypes {
            for outcome in ["applied", "stale", "recorded", "unknown_hold", "duplicate", "error"] {
                _ = Counter(label: Self.webhookEventsLabel, dimensions: [("type", type), ("outcome", outcome)], factory: factory)
            }
        }
        for outcome in ["bad_signature", "invalid_event", "not_configured"] {
            _ = Counter(label: Self.webhookEventsLabel, dimensions: [("type", "unverified"), ("outcome", outcome)], factory: factory)
        }
    }

    func countRateLimited(client: String) {
        Counter(label: Self.rateLimitedLabel, dimensions: [("client", client)], factory: factory).increment()
    }

    /// `type` is nil when the event could not be verified or read.
    func countWebhook(type: String?, outcome: String) {
        let typeLabel = type.map { Self.knownEventTypes.contains($0) ? $0 : "other" } ?? "unverified"
        Counter(label: Self.webhookEventsLabel, dimensions: [("type", typeLabel), ("outcome", outcome)], factory: factory).increment()
    }
}
