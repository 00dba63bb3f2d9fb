import Metrics

/// Policy evaluations counted by hook and outcome (`policy`, `builtin`, `error`). Counters
/// are made once and kept in an array, so counting costs neither a lookup in the metrics
/// backend nor a hash per evaluation.
final class PolicyMetrics: Sendable {
    private static let sources: [PolicyEvaluation<Bool>.Source] = [.policy, .builtIn, .failClosed]
    private let counters: [Counter]

    init() {
        counters = PolicyHook.allCases.flatMap { hook in
            Self.sources.map { source in
                Counter(
                    label: "chittycharge_policy_evaluations_total",
                    dimensions: [("hook", hook.name), ("outcome", source == .failClosed ? "error" : source.rawValue)]
                )
            }
        }
    }

    func count<Decision>(_ hook: PolicyHook, _ source: PolicyEvaluation<Decision>.Source) {
        let sourceIndex = switch source {
        case .policy: 0
        case .builtIn: 1
        case .failClosed: 2
        }
        counters[hook.index * Self.sources.count + sourceIndex].increment()
    }
}
