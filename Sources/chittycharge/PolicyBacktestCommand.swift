import ArgumentParser
import ChittyCharge
import Foundation
import HoldStoreSQLite
import JSON
import Logging
import PolicyEngine

extension PolicyCommand {
    /// `chittycharge policy backtest`: which stored decisions a candidate folder would change.
    struct Backtest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay the stored hold_limit and hold_schedule decisions through a candidate policy folder and show which would change.",
            discussion: """
                Reads the store (DATABASE_URL, as serve does) and records nothing in it; the running server is not affected \
                (a store file from an older version is migrated on opening, as serve would).
                Example: chittycharge policy backtest --dir ./policies-next --since 2026-01-01
                A candidate that does not load exits 1 with file:line. Its own tests/ are not run (use policy test).
                """
        )

        @OptionGroup var options: PolicyOptions

        @Option(help: "Only decisions made at or after this time: \(PolicyBacktest.acceptedDateFormats).")
        var since: String?

        @Option(help: "sqlite:///path/to/file ($DATABASE_URL, default sqlite://./chittycharge.sqlite).")
        var databaseURL: String?

        @Option(help: "Examples to show of each kind of change (0-1000).")
        var examples: Int = 5

        @Flag(help: "Print the summary as JSON.")
        var json = false

        func validate() throws {
            guard (0...1000).contains(examples) else {
                throw ValidationError("--examples must be a whole number from 0 to 1000")
            }
            if let since, PolicyBacktest.date(from: since) == nil {
                throw ValidationError("--since '\(since)' is not a date; use \(PolicyBacktest.acceptedDateFormats)")
            }
        }

        func run() async throws {
            let sinceDate = since.flatMap(PolicyBacktest.date(from:))
            let candidate: PolicyRevision
            do {
                candidate = try PolicyBacktest.loadCandidate(PolicySourceSet(directory: options.directory), limits: options.limits)
            } catch {
                printError(error.message)
                throw ExitCode.failure
            }
            let path = try databasePath()
            let quiet = Logger(label: "chittycharge.store") { _ in SwiftLogNoOpLogHandler() }
            let store: SQLiteHoldStore
            do {
                // Beside a running server: reads only, so it does not take the server's lock.
                store = try await SQLiteHoldStore.open(path: path, logger: quiet, readerCount: 1, serving: false)
            } catch {
                printError("could not open the SQLite store at \(path): \(error)")
                throw ExitCode.failure
            }
            let summary: PolicyBacktest.Summary
            do {
                summary = try await PolicyBacktest(
                    store: store, operations: store, origins: store, allowedOriginsOverride: Self.configuredOrigins(),
                    candidate: candidate, since: sinceDate, examplesPerKind: examples).run()
                try await store.close()
            } catch {
                try? await store.close()
                printError("the backtest could not read the store at \(path): \(error)")
                throw ExitCode.failure
            }
            if json {
                print(String(decoding: summary.json.jsonData, as: UTF8.self))
            } else {
                print(Self.report(summary, directory: options.directory, examplesPerKind: examples), terminator: "")
            }
        }

        /// The file behind `--database-url`, which must already exist: opening a path that
        /// does not would create an empty store and report that nothing changes.
        private func databasePath() throws -> String {
            let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "sqlite://./chittycharge.sqlite"
            guard url.hasPrefix("sqlite://") else {
                printError("the database URL must look like sqlite:///absolute/path or sqlite://./relative/path, got '\(url)'")
                throw ExitCode.failure
            }
            let path = String(url.dropFirst("sqlite://".count))
            var isDirectory: ObjCBool = false
            guard !path.isEmpty, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                printError("no database file at '\(path)' (from \(databaseURL != nil ? "--database-url" : "DATABASE_URL or the default")): "
                    + "point --database-url at the server's sqlite:///path")
                throw ExitCode.failure
            }
            return path
        }

        /// The money impact, counts by hook and kind, totals per property and tier, then the
        /// first examples of each kind, with money and times formatted (raw values: --json).
        static func report(_ summary: PolicyBacktest.Summary, directory: String, examplesPerKind: Int) -> String {
            var lines = ["Backtest of candidate revision \(summary.candidateRevision) (\(directory))"]
            let since = summary.since.map { " since \(BacktestFormat.time($0))" } ?? ""
            guard summary.replayed > 0, let first = summary.firstDecisionAt, let last = summary.lastDecisionAt else {
                lines.append("No stored hold_limit or hold_schedule decisions\(since) to replay.")
                return lines.joined(separator: "\n") + "\n"
            }
            lines.append(
                "Replayed \(summary.replayed.formatted()) decisions\(since), made from \(BacktestFormat.time(first)) "
                    + "to \(BacktestFormat.time(last)), in "
                    + String(format: "%.2f s", summary.elapsedSeconds)
                    + " (\(Int(summary.decisionsPerSecond.rounded()).formatted()) decisions/s)")
            let limits = summary.hooks[.holdLimit]?.impact ?? PolicyBacktest.Impact()
            let schedules = summary.hooks[.holdSchedule]?.impact ?? PolicyBacktest.Impact()
            lines.append("")
            lines.append("Money impact: \(BacktestFormat.money(limits.newlyAllowedAmount)) newly allowed (\(limits.newlyAllowed.formatted()) holds), "
                + "\(BacktestFormat.money(limits.newlyRefusedAmount)) newly refused (\(limits.newlyRefused.formatted()) holds), "
                + "\(BacktestFormat.money(schedules.captureAmountChange, signed: true)) in scheduled captures")
            for hook in PolicyBacktest.replayedHooks {
                let counts = summary.hooks[hook] ?? PolicyBacktest.HookSummary()
                lines.append("")
                lines.append("\(hook.name): \(counts.replayed.formatted()) replayed, \(counts.changed.formatted()) would change")
                for kind in PolicyBacktest.Kind.kinds(for: hook) {
                    lines.append("  " + kind.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0) + counts.count(kind).formatted())
                }
                if counts.storedFailClosed > 0 {
                    lines.append("  (\(counts.storedFailClosed.formatted()) stored decision(s) were made fail-closed: the policy of the day failed)")
                }
            }
            if let holdLimit = summary.hooks[.holdLimit] {
                lines += table("hold_limit by property", holdLimit.byProperty, money: true)
                lines += table("hold_limit by tier (as stored)", holdLimit.byTier, money: true)
            }
            if let holdSchedule = summary.hooks[.holdSchedule] {
                lines += table("hold_schedule by property", holdSchedule.byProperty, money: false)
            }
            if let cors = summary.cors {
                lines.append("")
                if cors.origins == 0 {
                    lines.append("CORS preview: no browser origins recorded\(since).")
                } else {
                    lines.append("CORS preview: \(cors.origins.formatted()) browser origin(s) seen\(since), replayed with the allow-list "
                        + (cors.allowedOrigins.isEmpty ? "(none listed)" : cors.allowedOrigins.joined(separator: ", ")))
                    lines.append("  newly allowed  " + (cors.newlyAllowed.isEmpty ? "none" : cors.newlyAllowed.joined(separator: ", ")))
                    lines.append("  newly refused  " + (cors.newlyRefused.isEmpty ? "none" : cors.newlyRefused.joined(separator: ", ")))
                    lines.append("  unchanged      \(cors.unchanged.formatted())")
                    for (origin, error) in cors.candidateErrors.sorted(by: { $0.key < $1.key }) {
                        lines.append("  error on \(origin): \(error)")
                    }
                }
            }
            var exampleLines: [String] = []
            for hook in PolicyBacktest.replayedHooks {
                let counts = summary.hooks[hook] ?? PolicyBacktest.HookSummary()
                for kind in PolicyBacktest.Kind.kinds(for: hook) {
                    guard let examples = counts.examples[kind], !examples.isEmpty else { continue }
                    exampleLines.append("")
                    exampleLines.append("\(hook.name) \(kind.rawValue) (\(examples.count) of \(counts.count(kind).formatted())):")
                    for example in examples {
                        exampleLines += describe(example, hook: hook)
                    }
                }
            }
            if !exampleLines.isEmpty {
                lines.append("")
                lines.append("Examples (the first \(examplesPerKind) of each kind, oldest first)")
                lines += exampleLines
            }
            return lines.joined(separator: "\n") + "\n"
        }

        /// `ALLOWED_ORIGINS`, as `serve` reads it: it overrides the candidate's settings.
        static func configuredOrigins() -> [String]? {
            let list = (ProcessInfo.processInfo.environment["ALLOWED_ORIGINS"] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return list.isEmpty ? nil : list
        }

        /// One line per group with changes, largest first; groups without changes are summed.
        private static func table(_ title: String, _ groups: [String: PolicyBacktest.Impact], money: Bool) -> [String] {
            let changed = groups.filter { $0.value.changed > 0 }.sorted { ($0.value.changed, $1.key) > ($1.value.changed, $0.key) }
            guard !changed.isEmpty else { return [] }
            var lines = ["", "\(title):"]
            let width = max(12, changed.map(\.key.count).max() ?? 0)
            for (name, impact) in changed {
                var line = "  " + name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  \(impact.replayed.formatted()) replayed, \(impact.changed.formatted()) would change"
                if money {
                    if impact.newlyAllowed > 0 { line += "; \(impact.newlyAllowed) newly allowed (\(BacktestFormat.money(impact.newlyAllowedAmount)))" }
                    if impact.newlyRefused > 0 { line += "; \(impact.newlyRefused) newly refused (\(BacktestFormat.money(impact.newlyRefusedAmount)))" }
                } else if !impact.captureAmountChange.isEmpty {
                    line += "; \(BacktestFormat.money(impact.captureAmountChange, signed: true)) in captures"
                }
                lines.append(line)
            }
            let quiet = groups.count - changed.count
            if quiet > 0 { lines.append("  (\(quiet) more without changes)") }
            return lines
        }

        /// An example as a sentence: when, which hold, what was decided and what would be.
        private static func describe(_ example: PolicyBacktest.Example, hook: PolicyHook) -> [String] {
            let who = example.holdID.map { "hold \($0)" } ?? example.request.map { "request without a hold (\($0))" } ?? (example.subject ?? "(no subject)")
            var lines = ["  \(BacktestFormat.time(example.createdAt))  \(who)  (stored by \(example.storedRevision), \(example.storedSource))"]
            let input = example.input ?? .null
            let currency = input["currency"]?.stringValue ?? "usd"
            if hook == .holdLimit {
                let amount = input["amount"]?.integerValue.map { BacktestFormat.money($0, currency: currency) } ?? "?"
                let tier = input["metadata"]?["guest_tier"]?.stringValue ?? "no tier"
                let property = input["property_id"]?.stringValue.map { ", property \($0)" } ?? ""
                lines.append("    \(amount) (\(tier)\(property))")
                func limit(_ decision: JSONValue?) -> String {
                    guard let decision, decision != .null else { return "-" }
                    let verdict = decision["allow"]?.boolValue == true ? "allowed" : "refused"
                    let maximum = decision["max_amount"]?.integerValue.map { BacktestFormat.money($0, currency: currency) } ?? "?"
                    return "\(verdict), \(decision["tier"]?.stringValue ?? "?") limit \(maximum)"
                }
                lines.append("    was: \(limit(example.stored))")
                lines.append("    now: \(example.candidate.map { limit($0) } ?? "-")")
            } else {
                func plan(_ decision: JSONValue?) -> String {
                    guard let decision, let action = decision["action"]?.stringValue else { return "-" }
                    guard action != "none" else { return "nothing scheduled" }
                    let when = decision["at"]?.integerValue.map(BacktestFormat.time(seconds:)) ?? "?"
                    let amount = decision["amount"]?.integerValue.map { " " + BacktestFormat.money($0, currency: currency) } ?? ""
                    return "\(action)\(amount) at \(when)"
                }
                let amount = input["amount"]?.integerValue.map { BacktestFormat.money($0, currency: currency) } ?? "?"
                lines.append("    hold of \(amount), booking \(input["booking"]?["state"]?.stringValue ?? "booked")")
                lines.append("    was: \(plan(example.stored))")
                lines.append("    now: \(plan(example.candidate))")
            }
            if let error = example.error { lines.append("    error: \(error)") }
            return lines
        }

        private static func compact(_ value: JSONValue) -> String {
            String(decoding: value.jsonData, as: UTF8.self)
        }
    }
}
