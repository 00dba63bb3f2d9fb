// Policy engine figures (hold_limit ≤ 2 µs, cors ≤ 2 µs, rate_limit ≤ 1.5 µs median single
// caller; 2 callers ≥ 1.7× single-caller throughput; a runaway hook stopped within 50 ms of CPU).
//
// Run in release mode from the package root:
//   swift run -c release PolicyBenchmark [policy-folder]

import Dispatch
import Foundation
import Logging
import PolicyEngine

let directory = CommandLine.arguments.dropFirst().first ?? "policies"
let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

func loadRevision(_ sources: PolicySourceSet) -> PolicyRevision {
    do {
        return try PolicyRevision(sources: sources, logger: quiet)
    } catch {
        print("cannot load policy: \(error)")
        exit(1)
    }
}

let revision = loadRevision(try! PolicySourceSet(directory: directory))

let holdInput = HoldLimitHook.Input(
    amount: 125_000, currency: "usd", description: "Damage deposit, unit 4B", customerEmail: "guest@example.com",
    propertyID: "prop_123", tenantID: "tenant_456",
    metadata: [
        "guest_tier": "VERIFIED_GUEST", "check_in": "2026-12-01", "check_out": "2026-12-05", "nights": 4,
        "unit": "4B", "channel": "direct", "booking_id": "bk_98765", "pets": false, "rate": 189.5, "source": "rental-app",
    ],
    client: "rental-app"
)
var holdInputWithoutMetadata: HoldLimitHook.Input {
    var input = holdInput
    input.metadata = [:]
    return input
}
// As the server asks it: the settings' allow-list handed in as config.allowed_origins.
let corsInput = CORSHook.Input(origin: "https://app.chitty.cc", method: "POST", path: "/api/holds", allowedOrigins: revision.sources.allowedOrigins)
let rateInput = RateLimitHook.Input(client: "rental-app", route: "/api/holds", method: "POST", ip: "127.0.0.1")

/// Median nanoseconds per call over `batches` timed batches of `batchSize` calls.
func medianNanoseconds(batches: Int = 200, batchSize: Int = 500, _ body: () -> Void) -> Double {
    for _ in 0..<batchSize * 10 { body() }  // warm the pool, caches and branch predictors
    var samples: [Double] = []
    samples.reserveCapacity(batches)
    let clock = ContinuousClock()
    for _ in 0..<batches {
        let elapsed = clock.measure { for _ in 0..<batchSize { body() } }
        samples.append(Double(elapsed.components.attoseconds) / 1e9 / Double(batchSize) + Double(elapsed.components.seconds) * 1e9 / Double(batchSize))
    }
    samples.sort()
    return samples[samples.count / 2]
}

/// Evaluations per second with `callers` threads each running `perCaller` evaluations.
func throughput(callers: Int, perCaller: Int, _ body: @Sendable @escaping () -> Void) -> Double {
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        DispatchQueue.concurrentPerform(iterations: callers) { _ in
            for _ in 0..<perCaller { body() }
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double(callers * perCaller) / seconds
}

func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func verdict(_ ok: Bool) -> String { ok ? "meets target" : "MISSES target" }

print("ChittyCharge policy benchmark — revision \(revision.id) from \(directory), \(ProcessInfo.processInfo.activeProcessorCount) cores")
#if DEBUG
print("WARNING: debug build; run with `swift run -c release PolicyBenchmark` for real figures")
#endif

// Sanity: the benchmark measures real decisions.
precondition(revision.holdLimit(holdInput).decision.allow && revision.holdLimit(holdInput).source == .policy)
precondition(revision.cors(corsInput).decision.allow)

let minimal = loadRevision(try! PolicySourceSet(files: ["policy.lua": "function cors(req) return { allow = true } end"]))
// PROFILE=hook spins on one evaluation for `perf record`.
if let hook = ProcessInfo.processInfo.environment["PROFILE"] {
    for _ in 0..<(Int(ProcessInfo.processInfo.environment["PROFILE_N"] ?? "") ?? 3_000_000) {
        switch hook {
        case "minimal": _ = minimal.cors(corsInput)
        case "cors": _ = revision.cors(corsInput)
        case "rate2":
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                for _ in 0..<(Int(ProcessInfo.processInfo.environment["PROFILE_N"] ?? "") ?? 3_000_000) { _ = revision.rateLimit(rateInput) }
            }
            exit(0)
        case "hold-no-metadata": _ = revision.holdLimit(holdInputWithoutMetadata)
        default: _ = revision.holdLimit(holdInput)
        }
    }
    exit(0)
}
let minimalNs = medianNanoseconds { _ = minimal.cors(corsInput) }
let holdNs = medianNanoseconds { _ = revision.holdLimit(holdInput) }
let corsNs = medianNanoseconds { _ = revision.cors(corsInput) }
let rateNs = medianNanoseconds { _ = revision.rateLimit(rateInput) }

print("")
print("single caller, median ns per evaluation (input table built, result validated):")
print(String(format: "  hold_limit (10-key metadata)  %7.0f ns   target ≤ 2000 ns: %@", holdNs, verdict(holdNs <= 2000)))
print(String(format: "  cors                          %7.0f ns   target ≤ 2000 ns: %@", corsNs, verdict(corsNs <= 2000)))
print(String(format: "  rate_limit                    %7.0f ns   target ≤ 1500 ns: %@", rateNs, verdict(rateNs <= 1500)))
print(String(format: "  minimal hook (floor)          %7.0f ns   {allow=true} with a 4-field input", minimalNs))

print("")
print("throughput, evaluations/s (1 caller vs 2 concurrent callers, same work per caller;")
print("medians of 5 alternating rounds, because this machine's speed drifts between runs):")
let perCaller = 200_000
for (name, body) in [
    ("hold_limit", { @Sendable in _ = revision.holdLimit(holdInput) }),
    ("cors", { @Sendable in _ = revision.cors(corsInput) }),
    ("rate_limit", { @Sendable in _ = revision.rateLimit(rateInput) }),
] as [(String, @Sendable () -> Void)] {
    _ = throughput(callers: 2, perCaller: 20_000, body)  // both pool states exist and are warm
    var single: [Double] = [], double: [Double] = []
    for _ in 0..<5 {
        single.append(throughput(callers: 1, perCaller: perCaller, body))
        double.append(throughput(callers: 2, perCaller: perCaller, body))
    }
    let one = single.sorted()[2], two = double.sorted()[2]
    let ratio = two / one
    print(String(format: "  %-10@  1 caller %9.0f/s   2 callers %9.0f/s   ×%.2f   target ≥ ×1.7: %@", name, one, two, ratio, verdict(ratio >= 1.7)))
}

print("")
print("runaway hook (while true do end) at the default budget of \(PolicyLimits.default.instructionBudget) instructions:")
let runaway = loadRevision(try! PolicySourceSet(files: [
    "policy.lua": "function cors(req) if req.origin == 'loop' then while true do end end return { allow = true } end",
]))
var cpuMilliseconds: [Double] = []
for _ in 0..<50 {
    let start = threadCPUSeconds()
    let evaluation = runaway.cors(.init(origin: "loop"))
    cpuMilliseconds.append((threadCPUSeconds() - start) * 1000)
    precondition(evaluation.error?.kind == .instructionBudget)
}
cpuMilliseconds.sort()
let worst = cpuMilliseconds.last!
print(String(format: "  CPU per stopped call: median %.2f ms, worst %.2f ms of 50   target ≤ 50 ms: %@",
             cpuMilliseconds[cpuMilliseconds.count / 2], worst, verdict(worst <= 50)))
