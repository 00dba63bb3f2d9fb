import ArgumentParser
import Foundation
import PolicyEngine

extension PolicyCommand {
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the policy's test cases (tests/*.json) and report each; exit non-zero on any failure.",
            discussion: """
                --run NAME runs the cases named NAME exactly, or, when no case has that name, every case whose \
                name contains NAME. --coverage shows which lines of the policy's .lua files the cases ran. \
                A minimum (--minimum, or settings.json {"tests": {"minimum_coverage_percent": N}} for a whole run) fails \
                the command when the cases cover less.
                """
        )

        @OptionGroup var options: PolicyOptions

        @Option(name: .customLong("run"), help: "Run only the cases named NAME (or, if none is, those whose name contains NAME).")
        var only: String?

        @Flag(help: "Show per file how many of the policy's lines the cases ran, and which they did not.")
        var coverage = false

        @Option(help: "Fail when the cases cover less than this percentage of the policy's lines (default: settings.json tests.minimum_coverage_percent).")
        var minimum: Double?

        func run() throws {
            let revision = try options.loadRevision()
            var (cases, broken) = PolicyTestSuite.load(directory: options.directory)
            if let name = only {
                cases = PolicyTestSuite.select(cases, named: name)
                // A file that cannot be read may hold the case asked for: it still fails the run.
                broken = broken.filter { $0.name == "(file)" || $0.name == name || $0.name.contains(name) }
                if cases.isEmpty && !broken.contains(where: { $0.name != "(file)" }) {
                    print("no test case is named '\(name)' or has it in its name")
                    throw ExitCode.failure
                }
            }
            let required = try requiredMinimum()
            var measured: PolicyCoverage?
            let outcomes: [PolicyTestOutcome]
            if coverage || required != nil {
                do {
                    let run = try PolicyTestSuite.runMeasuringCoverage(cases, on: revision)
                    outcomes = broken + run.outcomes
                    measured = run.coverage
                } catch {
                    printError(error.message)
                    throw ExitCode.failure
                }
            } else {
                outcomes = broken + PolicyTestSuite.run(cases, on: revision)
            }
            for outcome in outcomes {
                if let failure = outcome.failure {
                    print("FAIL \(outcome.location): \(outcome.name)\n     \(failure)")
                } else {
                    print("PASS \(outcome.location): \(outcome.name)")
                }
            }
            if outcomes.isEmpty {
                print("no test cases in \(options.directory)/\(PolicyTestSuite.folderName)/*.json")
            }
            var belowMinimum = false
            if let measured {
                if coverage { print(Self.describe(measured), terminator: "") }
                if let (percent, source) = required, measured.percent < percent {
                    belowMinimum = true
                    print("coverage \(Self.format(measured.percent))% is below the required minimum of \(Self.format(percent))% (\(source))")
                }
            }
            let failed = outcomes.filter { !$0.passed }.count
            print("revision \(revision.id)")
            print("\(outcomes.count - failed) passed, \(failed) failed")
            if failed > 0 || belowMinimum { throw ExitCode.failure }
        }

        /// The minimum to enforce and where it came from. The folder's minimum is for the
        /// whole suite, so a `--run` subset does not have to meet it.
        private func requiredMinimum() throws -> (Double, String)? {
            if let minimum {
                guard (0...100).contains(minimum) else { throw ValidationError("--minimum must be from 0 to 100") }
                return (minimum, "--minimum")
            }
            guard only == nil else { return nil }
            do {
                return try PolicyCoverage.requiredMinimum(directory: options.directory)
                    .map { ($0, PolicyCoverage.minimumSetting) }
            } catch {
                printError(error.message)
                throw ExitCode.failure
            }
        }

        /// `  tiers.lua   24/26 lines (92.3%)  not run: 40, 52-53`, then the total.
        static func describe(_ coverage: PolicyCoverage) -> String {
            var text = "coverage (lines with code that the cases ran):\n"
            let width = coverage.files.map(\.path.count).max() ?? 0
            for file in coverage.files {
                let padding = String(repeating: " ", count: width - file.path.count)
                let uncovered = file.uncovered
                text += "  \(file.path)\(padding)  \(file.covered.count)/\(file.executable.count) lines (\(format(file.percent))%)"
                text += uncovered.isEmpty ? "\n" : "  not run: \(ranges(uncovered))\n"
            }
            text += "  total: \(coverage.coveredCount)/\(coverage.executableCount) lines (\(format(coverage.percent))%)\n"
            if coverage.truncated { text += "  (a case ran more lines than could be recorded; coverage may be understated)\n" }
            return text
        }

        static func format(_ percent: Double) -> String {
            String(format: "%.1f", percent)
        }

        /// "3, 7-9, 12" for [3, 7, 8, 9, 12].
        static func ranges(_ lines: [Int]) -> String {
            var parts: [String] = []
            var index = 0
            while index < lines.count {
                var end = index
                while end + 1 < lines.count && lines[end + 1] == lines[end] + 1 { end += 1 }
                parts.append(end == index ? "\(lines[index])" : "\(lines[index])-\(lines[end])")
                index = end + 1
            }
            return parts.joined(separator: ", ")
        }
    }
}
