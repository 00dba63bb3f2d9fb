import ArgumentParser
import Foundation
import JSON
import Logging
import PolicyEngine

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, try and test a policy folder before it goes live.",
        subcommands: [Check.self, Eval.self, Test.self, Lint.self, Reload.self, Rollback.self, Status.self, Diff.self, Backtest.self]
    )
}

/// Options every policy command shares.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: "The policy folder (default: $POLICY_DIR or ./policies).")
    var dir: String?

    @Option(name: .long, help: "VM instructions one hook call may run.")
    var instructionBudget: Int64 = PolicyLimits.default.instructionBudget

    @Option(name: .long, help: "Bytes one Lua state may allocate.")
    var memoryLimit: Int = PolicyLimits.default.memoryLimit

    @Option(name: .long, help: "Milliseconds one hook call may run (default: $POLICY_TIME_LIMIT_MS or 50).")
    var timeLimitMs: Int?

    @Option(name: .long, help: "Bytes one hook call may allocate in all.")
    var allocationBudget: Int = PolicyLimits.default.allocationBudget

    var directory: String {
        dir ?? ProcessInfo.processInfo.environment["POLICY_DIR"] ?? "policies"
    }

    var limits: PolicyLimits {
        PolicyLimits(
            instructionBudget: instructionBudget, memoryLimit: memoryLimit,
            timeLimit: policyTimeLimit(option: timeLimitMs, environment: ProcessInfo.processInfo.environment),
            allocationBudget: allocationBudget)
    }

    /// Loads the folder as a revision, or prints the error (file:line first) and exits 1.
    func loadRevision() throws -> PolicyRevision {
        do {
            // The CLI reports errors itself; engine logs would say the same thing twice.
            let quiet = Logger(label: "chittycharge.policy") { _ in SwiftLogNoOpLogHandler() }
            return try PolicyRevision(sources: PolicySourceSet(directory: directory), limits: limits, logger: quiet)
        } catch {
            printError(error.message)
            throw ExitCode.failure
        }
    }
}

/// The policy call time limit from an option, else $POLICY_TIME_LIMIT_MS, else the default.
func policyTimeLimit(option: Int?, environment: [String: String]) -> Duration {
    if let milliseconds = option ?? environment["POLICY_TIME_LIMIT_MS"].flatMap({ Int($0) }), milliseconds > 0 {
        return .milliseconds(milliseconds)
    }
    return PolicyLimits.default.timeLimit
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

extension PolicyCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Everything a reload checks, without activating: compile, smoke test, the folder's tests, a test per hook.",
            discussion: """
                Exits non-zero with file:line on an error, or the failing test cases, or the hooks that have no \
                test case (list them in settings.json "tests": {"untested_hooks": [...]} to go without on purpose).
                """
        )

        @OptionGroup var options: PolicyOptions

        func run() throws {
            let checked: (revision: PolicyRevision, testCount: Int, untestedHooks: [PolicyHook])
            do {
                let quiet = Logger(label: "chittycharge.policy") { _ in SwiftLogNoOpLogHandler() }
                checked = try PolicyEngine.validate(PolicyCandidate(directory: options.directory), limits: options.limits, logger: quiet)
            } catch {
                printError(error.message)
                for test in error.failedTests.prefix(20) {
                    printError("  FAIL \(test.location): \(test.name)\n       \(test.failure ?? "")")
                }
                throw ExitCode.failure
            }
            let revision = checked.revision
            let defined = PolicyHook.allCases.compactMap { hook in revision.definedHooks[hook].map { "\(hook.name) (\($0))" } }
            let builtIn = PolicyHook.allCases.filter { revision.definedHooks[$0] == nil }.map(\.name)
            print(
                "policy OK: revision \(revision.id), \(revision.sources.files.count) file(s) in \(options.directory); "
                    + "hooks: \(defined.isEmpty ? "none" : defined.joined(separator: ", "))"
                    + (builtIn.isEmpty ? "" : "; built-in: \(builtIn.joined(separator: ", "))")
            )
            print("tests: \(checked.testCount) case(s) passed"
                + (checked.untestedHooks.isEmpty ? "" : "; untested on purpose (settings.json): \(checked.untestedHooks.map(\.name).joined(separator: ", "))"))
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one hook on one JSON input and print the decision as JSON (a dry run).",
            discussion: """
                Example: chittycharge policy eval hold_limit '{"amount":300000,"metadata":{"guest_tier":"NEW_GUEST"}}'
                A policy error exits 1 with the message on stderr. Pass - (or nothing) to read the input from stdin.
                Times in the decision are ISO-8601 UTC ("at"), with Unix seconds beside them ("at_unix").
                --explain then lists the policy lines the hook ran, in order.
                """
        )

        @OptionGroup var options: PolicyOptions

        @Flag(help: "After the decision, list the policy lines the hook ran (file:line and the line's text).")
        var explain = false

        @Argument(help: "The hook: \(PolicyHook.allCases.map(\.name).joined(separator: ", ")).")
        var hook: String

        @Argument(help: "The input table as JSON.")
        var input: String = "-"

        func run() throws {
            guard let hook = PolicyHook(rawValue: hook) else {
                throw ValidationError("unknown hook '\(hook)'; hooks are \(PolicyHook.allCases.map(\.name).joined(separator: ", "))")
            }
            let text = input == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : input
            let value: JSONValue
            do {
                value = try JSONValue(jsonData: Data(text.utf8))
            } catch {
                throw ValidationError("the input is not valid JSON: \(error)")
            }
            guard case .object = value else { throw ValidationError("the input must be a JSON object (the hook's table)") }
            if let problem = hook.unknownInputFieldProblem(in: value) { throw ValidationError(problem) }

            let revision = try options.loadRevision()
            let evaluation: AnyPolicyEvaluation
            var explanation: PolicyExplanation?
            if explain {
                do {
                    explanation = try revision.explain(hook, input: value)
                } catch {
                    printError(error.message)
                    throw ExitCode.failure
                }
                evaluation = explanation!.evaluation
            } else {
                evaluation = revision.evaluate(hook, input: value)
            }
            if !evaluation.printed.isEmpty {
                printError(evaluation.printed.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "print: \($0)" }.joined(separator: "\n"))
            }
            if evaluation.error == nil {
                print(PolicyTestSuite.compactJSON(hook.readable(evaluation.report)))
            }
            if let explanation {
                print(Self.describe(explanation, hook: hook, defined: revision.definedHooks[hook] != nil), terminator: "")
            }
            if let error = evaluation.error {
                printError("policy error (\(error.kind.rawValue)): \(error.message)")
                throw ExitCode.failure
            }
        }

        /// The lines run, one per line: `  tiers.lua:62  if amount > limit then`, with
        /// `(N times)` for a line run N times in a row.
        static func describe(_ explanation: PolicyExplanation, hook: PolicyHook, defined: Bool) -> String {
            guard defined else { return "\(hook.name) is not defined by the policy: the built-in default decided, no policy line ran\n" }
            let steps = explanation.steps
            var text = "\(hook.name) ran \(steps.count) line(s):\n"
            let width = steps.map { "\($0.file):\($0.line)".count }.max() ?? 0
            for step in steps {
                let location = "\(step.file):\(step.line)"
                let padding = String(repeating: " ", count: width - location.count)
                text += "  \(location)\(padding)  \(step.text)\(step.count > 1 ? "  (\(step.count) times)" : "")\n"
            }
            if explanation.truncated { text += "  … (more lines ran than are recorded)\n" }
            return text
        }
    }
}
