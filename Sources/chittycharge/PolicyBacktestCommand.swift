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
                summary = try await PolicyBacktest(store: store, candidate: candidate, since: sinceDate, examplesPerKind: examples).run()
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

        /// Counts by hook and kind, then the first examples of each kind.
        static func report(_ summary: PolicyBacktest.Summary, directory: String, examplesPerKind: Int) -> String {
            var lines = ["Backtest of candidate revision \(summary.candidateRevision) (\(directory))"]
            let since = summary.since.map { " since \(PolicyBacktest.Summary.timestamp($0))" } ?? ""
            guard summary.replayed > 0, let first = summary.firstDecisionAt, let last = summary.lastDecisionAt else {
                lines.append("No stored hold_limit or hold_schedule decisions\(since) to replay.")
                return lines.joined(separator: "\n") + "\n"
            }
            lines.append(
                "Replayed \(summary.replayed.formatted()) decisions\(since), made from \(PolicyBacktest.Summary.timestamp(first)) "
                    + "to \(PolicyBacktest.Summary.timestamp(last)), in "
                    + String(format: "%.2f s", summary.elapsedSeconds)
                    + " (\(Int(summary.decisionsPerSecond.rounded()).formatted()) decisions/s)")
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
            var exampleLines: [String] = []
            for hook in PolicyBacktest.replayedHooks {
                let counts = summary.hooks[hook] ?? PolicyBacktest.HookSummary()
                for kind in PolicyBacktest.Kind.kinds(for: hook) {
                    guard let examples = counts.examples[kind], !examples.isEmpty else { continue }
                    exampleLines.append("")
                    exampleLines.append("\(hook.name) \(kind.rawValue) (\(examples.count) of \(counts.count(kind).formatted())):")
                    for example in examples {
                        exampleLines.append("  \(PolicyBacktest.Summary.timestamp(example.createdAt))  \(example.subject ?? "(no subject)")  "
                            + "stored by \(example.storedRevision) (\(example.storedSource))")
                        if let input = example.input { exampleLines.append("    input      " + compact(input)) }
                        if let stored = example.stored { exampleLines.append("    stored     " + compact(stored)) }
                        if let candidate = example.candidate { exampleLines.append("    candidate  " + compact(candidate)) }
                        if let error = example.error { exampleLines.append("    error      " + error) }
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

        private static func compact(_ value: JSONValue) -> String {
            String(decoding: value.jsonData, as: UTF8.self)
        }
    }
}
