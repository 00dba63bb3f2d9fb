// Issue 5's reload figures:
//   1. reload of the default policy set (compile + smoke test + its 80 test cases + swap),
//      in-process, 100 times, alternating two versions so every reload really swaps;
//   2. 100 reloads through POST /admin/policies/reload, alternating a good candidate and a
//      broken one, while wrk keeps GET /api/holds/{id} flowing (each request runs the
//      rate_limit hook) and a checker places holds and verifies that each was decided by one
//      whole revision (its tier_limit is the one that revision gives).
// Run: swift build -c release --scratch-path .build-release --product PolicyReloadBenchmark
//      && .build-release/release/PolicyReloadBenchmark
// Knobs: BENCH_PORT (18797), BENCH_RELOADS (100), BENCH_RELOAD_INTERVAL_MS (100).
import AsyncHTTPClient
import ChittyCharge
import ChittyChargeServer
import ChittyChargeWiring
import ChittyIDClient
import Foundation
import HoldStoreSQLite
import Hummingbird
import JSON
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import PolicyEngine
import StripeAPI
import StripeEmulator
import Synchronization

let environment = ProcessInfo.processInfo.environment
let port = Int(environment["BENCH_PORT"] ?? "") ?? 18797
let reloads = Int(environment["BENCH_RELOADS"] ?? "") ?? 100
let interval = Int(environment["BENCH_RELOAD_INTERVAL_MS"] ?? "") ?? 100
let token = "bench-token"
let adminToken = "bench-admin-token-0123456789"
let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("policies")

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// A copy of the shipped folder; `withTests` keeps tests/, `edit` changes policy files.
func policyCopy(withTests: Bool, edit: (String, String) -> String = { _, text in text }) throws -> URL {
    let target = FileManager.default.temporaryDirectory.appendingPathComponent("cc-reload-bench-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: shipped, to: target)
    if !withTests {
        try FileManager.default.removeItem(at: target.appendingPathComponent("tests"))
        // Without its tests the folder must say so, or a reload refuses it.
        let settings = target.appendingPathComponent("settings.json")
        let text = try String(contentsOf: settings, encoding: .utf8)
        let marked = text.replacingOccurrences(
            of: #""untested_hooks": []"#, with: #""untested_hooks": ["hold_limit", "cors", "rate_limit", "hold_schedule"]"#)
        precondition(marked != text, "settings.json no longer has an empty tests.untested_hooks")
        try marked.write(to: settings, atomically: true, encoding: .utf8)
    }
    for file in try FileManager.default.contentsOfDirectory(atPath: target.path) where file.hasSuffix(".lua") {
        let url = target.appendingPathComponent(file)
        try edit(file, try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
    }
    return target
}

// MARK: 1. Reload of the default policy set, in-process

let folderA = try policyCopy(withTests: true)
let folderB = try policyCopy(withTests: true) { file, text in file == "tiers.lua" ? text + "\n-- variant B\n" : text }
let engine = try PolicyEngine(directory: folderA.path, logger: quiet)
var reloadTimes: [Double] = []
var buildTimes: [Double] = []
var testCount = 0
for index in 0..<reloads {
    let folder = index.isMultiple(of: 2) ? folderB : folderA
    let started = ContinuousClock.now
    let activation = try engine.reload(from: folder.path, trigger: .api)
    reloadTimes.append(milliseconds(ContinuousClock.now - started))
    precondition(activation.changed, "every reload must swap")
    testCount = activation.testCount
    // The part without the test cases: read, compile, smoke test.
    let compileStarted = ContinuousClock.now
    _ = try PolicyRevision(sources: PolicySourceSet(directory: folder.path), logger: quiet)
    buildTimes.append(milliseconds(ContinuousClock.now - compileStarted))
}
print("PolicyReloadBenchmark")
print("1. reload of the default policy set in-process (\(reloads) reloads, each swapping; \(testCount) test cases each)")
print(String(format: "   read + compile + smoke + tests + swap   p50 %.2f ms  p99 %.2f ms  max %.2f ms   (target <= 100 ms)",
             percentile(reloadTimes, 0.5), percentile(reloadTimes, 0.99), reloadTimes.max() ?? .nan))
print(String(format: "   of which read + compile + smoke         p50 %.2f ms", percentile(buildTimes, 0.5)))

// MARK: 2. 100 reloads through the admin API under load

let limitA: Int64 = 250_000
let limitB: Int64 = 240_000
let served = try policyCopy(withTests: false) { file, text in
    file == "policy.lua" ? text.replacingOccurrences(of: "local RATE_LIMIT          = 10", with: "local RATE_LIMIT          = 1000000000") : text
}
let tiersURL = served.appendingPathComponent("tiers.lua")
let tiersA = try String(contentsOf: tiersURL, encoding: .utf8)
let settingsURL = served.appendingPathComponent("settings.json")
let settingsA = try String(contentsOf: settingsURL, encoding: .utf8)
let settingsB = settingsA.replacingOccurrences(of: "\"NEW_GUEST\": 250000", with: "\"NEW_GUEST\": \(limitB)")
precondition(settingsB != settingsA, "settings.json no longer has the NEW_GUEST line this benchmark edits")

let databasePath = FileManager.default.temporaryDirectory.appendingPathComponent("cc-reload-bench-\(UUID().uuidString).sqlite").path
let policies = try PolicyEngine(directory: served.path, logger: quiet)
var authenticator = ClientAuthenticator()
authenticator.addSharedToken(token)
// The service records its metrics nowhere (the process's unbootstrapped system), as before.
let system = try await ChittyChargeSystem.build(
    .init(databasePath: databasePath, policyDirectory: served.path, stripe: .emulator(StripeEmulator()), chittyID: .emulator(),
          server: ServerConfiguration(host: "127.0.0.1", port: port), authenticator: authenticator, adminToken: adminToken),
    policies: policies, loggers: .init(all: quiet), metrics: .chittyCharge(), holdMetrics: MetricsSystem.factory)
let app = system.application()
let serverTask = Task { try await app.runService(gracefulShutdownSignals: []) }
let base = "http://127.0.0.1:\(port)"
for attempt in 0..<100 {
    if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(1)), response.status == .ok { break }
    if attempt == 99 { fatalError("the server did not start on port \(port)") }
    try await Task.sleep(for: .milliseconds(100))
}

func call(_ method: HTTPMethod, _ path: String, headers: [(String, String)], body: String? = nil) async throws -> (Int, JSONValue) {
    var request = HTTPClientRequest(url: base + path)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))) ?? .null)
}

let client = [("ChittyID-Token", token), ("Content-Type", "application/json")]
let placed = try await call(.POST, "/api/holds", headers: client, body: #"{"amount":1000,"description":"Deposit"}"#)
guard placed.0 == 201, let holdID = placed.1["id"]?.stringValue else { fatalError("could not place the hold to read: \(placed)") }

/// Revision → the NEW_GUEST limit it gives; registered before the revision can serve.
let limitsByRevision = Mutex<[String: Int64]>([policies.revision.id: limitA])
let stop = Atomic<Bool>(false)

// The checker: holds placed during the reloads, each checked against its revision.
let checker = Task { () -> (ok: Int, failed: Int, mixed: Int, revisions: Set<String>) in
    var tally = (ok: 0, failed: 0, mixed: 0, revisions: Set<String>())
    while !stop.load(ordering: .relaxed) {
        guard let (status, body) = try? await call(.POST, "/api/holds", headers: client, body: #"{"amount":1000,"description":"Deposit"}"#),
              status == 201, let revision = body["policy_revision"]?.stringValue else {
            tally.failed += 1
            continue
        }
        tally.ok += 1
        tally.revisions.insert(revision)
        if limitsByRevision.withLock({ $0[revision] }) != body["tier_limit"]?.integerValue { tally.mixed += 1 }
    }
    return tally
}

// wrk for the whole reload loop (with a second of margin either side).
let loadSeconds = reloads * interval / 1000 + 2
let wrk = Process()
wrk.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
wrk.arguments = ["-t2", "-c32", "-d\(loadSeconds)s", "--latency", "-H", "ChittyID-Token: \(token)", base + "/api/holds/\(holdID)"]
let wrkOutput = Pipe()
wrk.standardOutput = wrkOutput
try wrk.run()
try await Task.sleep(for: .seconds(1))

var accepted = 0, rejected = 0, unexpected = 0
var roundTrips: [Double] = []
var serverDurations: [Double] = []
let admin = [("Authorization", "Bearer \(adminToken)")]
for index in 0..<reloads {
    if index.isMultiple(of: 2) {
        let useB = index.isMultiple(of: 4)
        try tiersA.write(to: tiersURL, atomically: true, encoding: .utf8)
        try (useB ? settingsB : settingsA).write(to: settingsURL, atomically: true, encoding: .utf8)
        let candidate = try PolicySourceSet(directory: served.path).revision
        limitsByRevision.withLock { $0[candidate] = useB ? limitB : limitA }
    } else {
        try (tiersA + "\nthis is broken \(index)(\n").write(to: tiersURL, atomically: true, encoding: .utf8)
    }
    let started = ContinuousClock.now
    let (status, body) = try await call(.POST, "/admin/policies/reload", headers: admin)
    roundTrips.append(milliseconds(ContinuousClock.now - started))
    switch (index.isMultiple(of: 2), status) {
    case (true, 200) where body["changed"] == .bool(true):
        accepted += 1
        if case .number(let duration)? = body["duration_ms"] { serverDurations.append(duration) }
    case (false, 422) where body["code"]?.stringValue == "policy_invalid":
        rejected += 1
    default:
        unexpected += 1
        print("   unexpected reload answer \(status): \(body)")
    }
    try await Task.sleep(for: .milliseconds(interval))
}
wrk.waitUntilExit()
stop.store(true, ordering: .relaxed)
let checked = await checker.value
let report = String(decoding: wrkOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
var rps = "?", total = "?", p99 = "?", errors = "none"
for line in report.split(separator: "\n") {
    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
    if line.hasPrefix("Requests/sec:"), let value = fields.last { rps = String(value) }
    if line.contains("requests in"), let value = fields.first { total = String(value) }
    if fields.first == "99%", let value = fields.last { p99 = String(value) }
    if line.contains("Non-2xx") || line.contains("Socket errors") { errors = line.trimmingCharacters(in: .whitespaces) }
}
print("2. \(reloads) reloads via POST /admin/policies/reload every \(interval) ms, alternating good and broken, under load")
print("   wrk -t2 -c32 -d\(loadSeconds)s GET /api/holds/{id}: \(total) requests, \(rps) req/s, p99 \(p99), failed: \(errors)   (target >= 1,000 req/s, 0 failed)")
print("   reloads: \(accepted) good activated, \(rejected) broken rejected (422), \(unexpected) unexpected")
print(String(format: "   reload as the admin sees it (HTTP round trip)  p50 %.2f ms  p99 %.2f ms;  in the server p50 %.2f ms  p99 %.2f ms",
             percentile(roundTrips, 0.5), percentile(roundTrips, 0.99), percentile(serverDurations, 0.5), percentile(serverDurations, 0.99)))
print("   holds placed meanwhile: \(checked.ok) ok, \(checked.failed) failed, \(checked.mixed) decided by a mix of revisions; served by \(checked.revisions.count) revisions")
serverTask.cancel()
try? await system.close()
