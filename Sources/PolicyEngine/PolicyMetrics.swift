import Metrics

/// Policy evaluations counted by hook and outcome (`policy`, `builtin`, `error`), and the
/// duration of Lua evaluations by hook. Counters and timers are made once and kept in
/// arrays, so recording costs neither a lookup in the metrics backend nor a hash.
/// Evaluations that ran Lua are first counted (and timed) in their state and added here in
/// batches: a shared counter touched on every evaluation kept two concurrent callers from
/// running in parallel.
final class PolicyMetrics: Sendable {
    private static let sources: [PolicyDecisionSource] = [.policy, .builtIn, .failClosed]
    private let counters: [Counter]
    /// By `PolicyHook.index`.
    private let durations: [Timer]

    static let evaluationsLabel = "chittycharge_policy_evaluations_total"
    static let durationLabel = "chittycharge_policy_evaluation_duration_seconds"

    /// One Lua evaluation in this many is timed (per state, so every hook and outcome is
    /// sampled alike). Reading the clock twice and recording into a histogram shared by all
    /// threads cost more than a small hook itself; a sample keeps the histogram's shape, and
    /// the evaluation counters still count every call.
    static let durationSampleInterval = 8

    /// `factory` defaults to the process's bootstrapped metrics system; tests pass their own.
    init(factory: any MetricsFactory = MetricsSystem.factory) {
        counters = PolicyHook.allCases.flatMap { hook in
            Self.sources.map { source in
                Counter(
                    label: Self.evaluationsLabel,
                    dimensions: [("hook", hook.name), ("outcome", source == .failClosed ? "error" : source.rawValue)],
                    factory: factory
                )
            }
        }
        durations = PolicyHook.allCases.map { hook in
            Timer(label: Self.durationLabel, dimensions: [("hook", hook.name)], factory: factory)
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

    /// One timed evaluation, kept by a Lua state until its next flush.
    struct DurationSample: Sendable {
        var hookIndex: Int
        var nanoseconds: Int64
    }

    /// Records durations kept by a Lua state and empties the list.
    func record(_ samples: inout [DurationSample]) {
        for sample in samples {
            durations[sample.hookIndex].recordNanoseconds(sample.nanoseconds)
        }
        samples.removeAll(keepingCapacity: true)
    }
}

/// Histogram buckets that suit policy evaluations, for a metrics backend that asks (the
/// server's Prometheus factory): a hook takes a few microseconds, a runaway one is stopped
/// by its budget within milliseconds.
public enum PolicyEvaluationDuration {
    public static let label = PolicyMetrics.durationLabel
    public static let buckets: [Duration] = [
        .microseconds(1), .microseconds(2.5), .microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50),
        .microseconds(100), .microseconds(250), .milliseconds(1), .milliseconds(10), .milliseconds(100),
    ]
}
