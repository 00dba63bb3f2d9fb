import Metrics

/// Policy evaluations counted by hook and outcome (`policy`, `builtin`, `error`). Counters
/// are made once and kept in an array, so counting costs neither a lookup in the metrics
/// backend nor a hash. Evaluations that ran Lua are first counted in their state and added
/// here in batches: a shared counter touched on every evaluation kept two concurrent
/// callers from running in parallel.
final class PolicyMetrics: Sendable {
    private static let sources: [PolicyDecisionSource] = [.policy, .builtIn, .failClosed]
    private let counters: [Counter]

    /// `factory` defaults to the process's bootstrapped metrics system; tests pass their own.
    init(factory: any MetricsFactory = MetricsSystem.factory) {
        counters = PolicyHook.allCases.flatMap { hook in
            Self.sources.map { source in
                Counter(
                    label: "chittycharge_policy_evaluations_total",
                    dimensions: [("hook", hook.name), ("outcome", source == .failClosed ? "error" : source.rawValue)],
                    factory: factory
                )
            }
        }
    }

    static let slotCount = PolicyHook.allCases.count * sources.count

    static func slot(_ hook: PolicyHook, _ source: PolicyDecisionSource) -> Int {
        let sourceIndex = switch source {
        case .policy: 0
        case .builtIn: 1
        case .failClosed: 2
        }
        return hook.index * sources.count + sourceIndex
    }

    func count(_ hook: PolicyHook, _ source: PolicyDecisionSource) {
        counters[Self.slot(hook, source)].increment()
    }

    /// Adds counts kept by a Lua state (see LuaPolicyState.count) and zeroes them.
    func add(_ counts: inout [Int]) {
        for slot in counts.indices where counts[slot] > 0 {
            counters[slot].increment(by: Int64(counts[slot]))
            counts[slot] = 0
        }
    }
}
