import PolicyEngine
import Prometheus

extension PrometheusMetricsFactory {
    /// The factory `serve` bootstraps and passes to the service, the policy engine and the
    /// HTTP layer: one registry behind `/metrics`, with histogram buckets that fit what each
    /// histogram measures (the library's default starts at 5 ms, coarser than a whole hold
    /// read, and far coarser than a policy evaluation).
    public static func chittyCharge(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            ServerMetrics.durationLabel: [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .seconds(2.5), .seconds(5), .seconds(10),
            ],
            PolicyEvaluationDuration.label: PolicyEvaluationDuration.buckets,
        ]
        return factory
    }
}
