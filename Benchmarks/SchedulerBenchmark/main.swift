// Scheduler figure (issue 4), in release mode:
//
//   swift run -c release SchedulerBenchmark            # SCHED_HOLDS (10000), SCHED_RUNNERS (4)
//   BENCH_DATABASE_URL=postgres://… SCHED_INSTANCES=2 swift run -c release SchedulerBenchmark
//
// With BENCH_DATABASE_URL (an empty PostgreSQL database) and SCHED_INSTANCES, that many
// instances (each its own store pool, services and scheduler id, as separate `serve`
// processes would have) share the database and the runners, against one emulator.
//
// Places SCHED_HOLDS holds on saved cards through the hold services (SQLite in a temporary file,
// the Stripe emulator in-process), each with a policy decision already due: half a
// no-show capture, half a release after check-out (the shipped policy). Then SCHED_RUNNERS
// scheduler loops drain them concurrently, as several ticks racing each other would.
// Prints the time to drain and checks the emulator's call log: every hold captured or
// released exactly once (replays of one idempotency key do not count twice), none twice.
import ChittyCharge
import ChittyChargeServer
import ChittyChargeWiring
import ChittyIDClient
import Foundation
import HoldStorePostgres
import HoldStoreSQLite
import JSON
import Logging
import Metrics
import PolicyEngine
import StripeAPI
import StripeEmulator

let environment = ProcessInfo.processInfo.environment
let holdCount = Int(environment["SCHED_HOLDS"] ?? "") ?? 10_000
let runners = Int(environment["SCHED_RUNNERS"] ?? "") ?? 4
let instanceCount = Int(environment["SCHED_INSTANCES"] ?? "") ?? 1
let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let policyFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("policies").path
let databasePath = FileManager.default.temporaryDirectory.appendingPathComponent("cc-sched-\(UUID().uuidString).sqlite").path
let database: ChittyChargeSystem.DatabaseSetup = if let url = environment["BENCH_DATABASE_URL"] {
    .postgres(try PostgresConnectionSettings(url: url, poolSize: 10))
} else {
    .sqlite(path: databasePath)
}
guard instanceCount == 1 || environment["BENCH_DATABASE_URL"] != nil else { fatalError("several instances need BENCH_DATABASE_URL (PostgreSQL)") }
let emulator = StripeEmulator(callLogCapacity: 4 * holdCount + 1000)
// Only the hold services run here: no router, no background work (the loops below are it).
var systems: [ChittyChargeSystem] = []
for _ in 0..<instanceCount {
    systems.append(try await ChittyChargeSystem.build(
        .init(database: database, policyDirectory: policyFolder, stripe: .emulator(emulator), chittyID: .emulator(),
              server: ServerConfiguration(), authenticator: ClientAuthenticator()),
        policies: try PolicyEngine(directory: policyFolder, logger: quiet), loggers: .init(all: quiet),
        metrics: .chittyCharge(), holdMetrics: MetricsSystem.factory))
}
let store = systems[0].store
let holds = systems[0].holds

let past = Date().addingTimeInterval(-3 * 86_400).formatted(Date.ISO8601FormatStyle())
print("SchedulerBenchmark: placing \(holdCount) holds with an action already due")
let placing = ContinuousClock.now
for index in 0..<holdCount {
    var metadata: [String: JSONValue] = ["check_out": .string(past), "check_in": .string(past)]
    if index.isMultiple(of: 2) { metadata["no_show_fee"] = "2500" }
    let request = HoldRequest(amount: 10_000, description: "Deposit \(index)", metadata: metadata,
                              customer: "cus_bench", paymentMethod: "pm_card_visa", confirm: true)
    let placement = try await holds.placement.placeHold(request, client: "bench", idempotencyKey: nil, logger: quiet)
    guard placement.hold.scheduledAction != nil else { fatalError("hold \(index) has nothing scheduled") }
}
print(String(format: "  placed in %.1f s", seconds(ContinuousClock.now - placing)))

await emulator.resetCalls()
let draining = ContinuousClock.now
let finished = await withTaskGroup(of: Int.self) { group in
    for runner in 0..<runners {
        let instance = systems[runner % systems.count]
        group.addTask {
            var done = 0
            while true {
                let ran = await instance.holds.scheduler.runDue(limit: 100)
                if ran == 0, (try? await store.holdsWithDueActions(at: Date(), limit: 1).isEmpty) ?? true { return done }
                done += ran
            }
        }
    }
    var total = 0
    for await count in group { total += count }
    return total
}
let drained = seconds(ContinuousClock.now - draining)

let actions = await emulator.calls().filter { $0.method == "POST" && ($0.path.hasSuffix("/capture") || $0.path.hasSuffix("/cancel")) }
let executed = actions.filter { !$0.replayed && !$0.injectedFault && $0.status == 200 }
var perHold: [String: Int] = [:]
for call in executed { perHold[String(call.path.split(separator: "/")[2]), default: 0] += 1 }
let twice = perHold.values.filter { $0 > 1 }.count
let intents = await emulator.paymentIntents()
let settled = intents.filter { $0.status == "succeeded" || $0.status == "canceled" }.count
print("  \(systems.count) instance(s) on \(store.databaseKind), \(runners) scheduler loops drained \(finished) actions in \(String(format: "%.1f", drained)) s (\(String(format: "%.0f", Double(finished) / drained)) actions/s)")
print("  Stripe captures+releases executed: \(executed.count) for \(perHold.count) holds; holds acted on twice: \(twice); settled intents: \(settled)/\(intents.count)")
print("  (target: \(holdCount) actions, zero duplicates)")

for system in systems { try await system.close() }
try? FileManager.default.removeItem(atPath: databasePath)
