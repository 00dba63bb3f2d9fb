// Backtest throughput (issue 5), in release mode:
//
//   swift build -c release --scratch-path .build-release --product PolicyBacktestBenchmark
//   .build-release/release/PolicyBacktestBenchmark      # BACKTEST_DECISIONS (100000), BACKTEST_RUNS (5)
//
// Seeds a SQLite store in a temporary file (TMPDIR) with BACKTEST_DECISIONS decisions the
// shipped policy made — about 70 % hold_limit (every tier, amounts around and above the
// limits, the metadata a rental app sends) and 30 % hold_schedule (check-outs, no-show
// fees, long stays) — encoded as the hold services record them. Then backtests a candidate with
// a lower NEW_GUEST limit and a shorter release delay BACKTEST_RUNS times with one
// evaluation per core (as the CLI does) and with one only (as a busy server would), and
// prints decisions/s (median and range), what the store alone reads per second, and the
// counts of one run.
import ChittyCharge
import Foundation
import HoldStoreSQLite
import JSON
import Logging
import NIOCore
import PolicyEngine
import SQLiteNIO

let environment = ProcessInfo.processInfo.environment
let decisionCount = Int(environment["BACKTEST_DECISIONS"] ?? "") ?? 100_000
let runs = max(1, Int(environment["BACKTEST_RUNS"] ?? "") ?? 5)
let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count.isMultiple(of: 2) ? (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2 : sorted[sorted.count / 2]
}

func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

let policyFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("policies").path
let shipped = try PolicyRevision(sources: PolicySourceSet(directory: policyFolder), logger: quiet)

var candidateFiles: [String: String] = [:]
for file in shipped.sources.files {
    var text = String(decoding: file.contents, as: UTF8.self)
    switch file.path {
    case "settings.json":
        text = text.replacingOccurrences(of: "\"NEW_GUEST\": 250000", with: "\"NEW_GUEST\": 150000")
            .replacingOccurrences(of: "\"release_after_check_out_hours\": 48", with: "\"release_after_check_out_hours\": 24")
    default: break
    }
    candidateFiles[file.path] = text
}
let candidate = try PolicyBacktest.loadCandidate(PolicySourceSet(files: candidateFiles), limits: .default)
guard candidate.id != shipped.id else { fatalError("the candidate edits no longer apply to the shipped policy") }

// MARK: Seeding

/// The decisions, as the hold services record them (its input and decision encodings).
var generator = SystemRandomNumberGenerator()
let start = Date(timeIntervalSince1970: 1_772_452_800)  // 2026-03-02T12:00:00Z
let tiers: [String?] = ["NEW_GUEST", "NEW_GUEST", "VERIFIED_GUEST", "PREMIUM_PROPERTY", nil, "UNKNOWN_TIER"]
var records: [PolicyDecisionRecord] = []
records.reserveCapacity(decisionCount)
print("PolicyBacktestBenchmark: seeding \(decisionCount) decisions made by revision \(shipped.id)")
let seeding = ContinuousClock.now
for index in 0..<decisionCount {
    // A decision every 100 ms on average, several sometimes in the same millisecond.
    let at = start.addingTimeInterval(Double(index / 3) * 0.3)
    let checkIn = at.addingTimeInterval(Double(Int.random(in: 0...30, using: &generator)) * 86_400)
    let checkOut = checkIn.addingTimeInterval(Double(Int.random(in: 1...14, using: &generator)) * 86_400)
    var metadata: [String: JSONValue] = [
        "booking_id": .string("bk-\(100_000 + index)"), "unit": .string("\(index % 40)B"),
        "check_in": .string(iso(checkIn)), "check_out": .string(iso(checkOut)), "guests": .string("\(index % 4 + 1)"),
    ]
    if let tier = tiers[index % tiers.count] { metadata["guest_tier"] = .string(tier) }
    let hook: PolicyHook
    let input: JSONValue
    if index % 10 < 7 {
        hook = .holdLimit
        input = [
            "amount": .integer(Int64(Int.random(in: 10...1_200_000, using: &generator))), "currency": "usd",
            "description": .string("Security deposit, booking bk-\(100_000 + index)"), "customer_email": "guest@example.com",
            "property_id": .string("property-\(index % 25)"), "tenant_id": "tenant-1", "metadata": .object(metadata),
            "client": index.isMultiple(of: 3) ? "partner" : "frontdesk",
        ]
    } else {
        hook = .holdSchedule
        if index % 10 == 9 { metadata["no_show_fee"] = "5000" }
        input = [
            "id": .string("pi_bench\(index)"), "amount": .integer(Int64(Int.random(in: 10_000...500_000, using: &generator))),
            "currency": "usd", "status": "requires_capture", "created_at": .string(iso(at)),
            "capture_before": .string(iso(at.addingTimeInterval(7 * 86_400))), "property_id": .string("property-\(index % 25)"),
            "tenant_id": "tenant-1", "metadata": .object(metadata),
        ]
    }
    let evaluation = shipped.evaluate(hook, input: input)
    records.append(PolicyDecisionRecord(
        id: UUID().uuidString.lowercased(), hook: hook.name, revision: evaluation.revision, source: evaluation.source.rawValue,
        input: input.jsonData, decision: evaluation.decision.jsonData,
        subject: hook == .holdLimit ? "chittycharge-create-\(index)" : "pi_bench\(index)", createdAt: at))
}

let databasePath = FileManager.default.temporaryDirectory.appendingPathComponent("cc-backtest-\(UUID().uuidString).sqlite").path
defer {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
}
// The store makes the schema; the rows go in through one connection in one transaction,
// since recordDecision commits (and fsyncs) each decision on its own.
try await SQLiteHoldStore.open(path: databasePath, logger: quiet).close()
let loader: SQLiteConnection = try await SQLiteConnection.open(storage: .file(path: databasePath), logger: quiet)
/// Runs one statement and waits for it (a bare `query` call here picks the overload that
/// returns an EventLoopFuture and does not wait).
func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws {
    let _: Void = try await loader.query(sql, binds) { _ in }
}
try await execute("BEGIN")
let rowsPerInsert = 500
for batchStart in stride(from: 0, to: records.count, by: rowsPerInsert) {
    let batch = records[batchStart..<min(batchStart + rowsPerInsert, records.count)]
    let sql = "INSERT INTO policy_decisions (id, hook, revision, source, input, decision, subject, created_at) VALUES "
        + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: batch.count).joined(separator: ", ")
    var binds: [SQLiteData] = []
    binds.reserveCapacity(batch.count * 8)
    for record in batch {
        binds += [
            .text(record.id), .text(record.hook), .text(record.revision), .text(record.source),
            .blob(ByteBuffer(bytes: record.input)), .blob(ByteBuffer(bytes: record.decision)),
            .text(record.subject ?? ""), .integer(Int(record.createdAt.timeIntervalSince1970 * 1000)),
        ]
    }
    try await execute(sql, binds)
}
try await execute("COMMIT")
let _: Void = try await loader.close()
let inputBytes = records.reduce(0) { $0 + $1.input.count } / max(1, records.count)
records = []
print(String(format: "  seeded in %.1f s (inputs average %d bytes of JSON)", seconds(ContinuousClock.now - seeding), inputBytes))

// MARK: Measuring

let store = try await SQLiteHoldStore.open(path: databasePath, logger: quiet)
let cores = ProcessInfo.processInfo.activeProcessorCount

// What reading alone costs: the same pages, decoded into records, nothing evaluated.
var readRates: [Double] = []
for _ in 0..<runs {
    let reading = ContinuousClock.now
    var read = 0
    var cursor: PolicyDecisionCursor?
    while true {
        let page = try await store.decisions(since: nil, after: cursor, limit: 1000)
        guard let last = page.last else { break }
        read += page.count
        cursor = PolicyDecisionCursor(after: last)
    }
    readRates.append(Double(read) / seconds(ContinuousClock.now - reading))
}
print(String(format: "  store reads alone: median %.0f decisions/s (%.0f–%.0f)", median(readRates), readRates.min()!, readRates.max()!))

var lastSummary: PolicyBacktest.Summary?
let pageSize = Int(environment["BACKTEST_PAGE"] ?? "") ?? 1000
for concurrency in [cores, 1] {
    var rates: [Double] = []
    for _ in 0..<runs {
        let summary = try await PolicyBacktest(store: store, candidate: candidate, pageSize: pageSize, concurrency: concurrency).run()
        guard summary.replayed == decisionCount else { fatalError("replayed \(summary.replayed) of \(decisionCount)") }
        rates.append(summary.decisionsPerSecond)
        lastSummary = summary
    }
    print(String(format: "  backtest, %d evaluation(s) at a time: median %.0f decisions/s (%.0f–%.0f over %d runs; %.2f s each)",
                 concurrency, median(rates), rates.min()!, rates.max()!, runs, Double(decisionCount) / median(rates)))
}
try await store.close()

if let summary = lastSummary {
    for hook in PolicyBacktest.replayedHooks {
        let counts = summary.hooks[hook] ?? PolicyBacktest.HookSummary()
        let listed = PolicyBacktest.Kind.kinds(for: hook).map { "\($0.rawValue) \(counts.count($0))" }.joined(separator: ", ")
        print("  \(hook.name): \(counts.replayed) replayed — \(listed)")
    }
}
print("  (target: at least 20,000 decisions/s)")
