import Metrics

/// Policy evaluations counted by hook and outcome (`policy`, `builtin`, `error`). Counters
/// are made once, so counting costs no lookup in the metrics backend per evaluation.
final class PolicyMetrics: Sendable {
    private let counters: [PolicyHook: [PolicyEvaluation<Bool>.Source: Counter]]

    init() {
        var counters: [PolicyHook: [PolicyEvaluation<Bool>.Source: Counter]] = [:]
        for hook in PolicyHook.allCases {
            for source in [PolicyEvaluation<Bool>.Source.policy, .builtIn, .failClosed] {
                let outcome = source == .failClosed ? "error" : source.rawValue
                counters[hook, default: [:]][source] = Counter(
                    label: "chittycharge_policy_evaluations_total",
                    dimensions: [("hook", hook.name), ("outcome", outcome)]
                )
            }
        }
        self.counters = counters
    }

    func count<Decision>(_ hook: PolicyHook, _ source: PolicyEvaluation<Decision>.Source) {
        let key = PolicyEvaluation<Bool>.Source(rawValue: source.rawValue)!
        counters[hook]?[key]?.increment()
    }
}
