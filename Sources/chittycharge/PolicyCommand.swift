import ArgumentParser
import Foundation
import JSON
import Logging
import PolicyEngine

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, try and test a policy folder before it goes live.",
        subcommands: [Check.self, Eval.self, Test.self, Reload.self, Rollback.self, Status.self, Backtest.self]
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
            abstract: "Compile, load and smoke-test the policy; exit non-zero with file:line on error."
        )

        @OptionGroup var options: PolicyOptions

        func run() throws {
            let revision = try options.loadRevision()
            let defined = PolicyHook.allCases.compactMap { hook in revision.definedHooks[hook].map { "\(hook.name) (\($0))" } }
            let builtIn = PolicyHook.allCases.filter { revision.definedHooks[$0] == nil }.map(\.name)
            print(
                "policy OK: revision \(revision.id), \(revision.sources.files.count) file(s) in \(options.directory); "
                    + "hooks: \(defined.isEmpty ? "none" : defined.joined(separator: ", "))"
                    + (builtIn.isEmpty ? "" : "; built-in: \(builtIn.joined(separator: ", "))")
            )
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one hook on one JSON input and print the decision as JSON (a dry run).",
            discussion: """
                Example: chittycharge policy eval hold_limit '{"amount":300000,"metadata":{"guest_tier":"NEW_GUEST"}}'
                A policy error exits 1 with the message on stderr. Pass - (or nothing) to read the input from stdin.
                """
        )

        @OptionGroup var options: PolicyOptions

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
                value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            } catch {
                throw ValidationError("the input is not valid JSON: \(error)")
            }
            guard case .object = value else { throw ValidationError("the input must be a JSON object (the hook's table)") }

            let revision = try options.loadRevision()
            let evaluation = revision.evaluate(hook, input: value)
            if !evaluation.printed.isEmpty {
                printError(evaluation.printed.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "print: \($0)" }.joined(separator: "\n"))
            }
            if let error = evaluation.error {
                printError("policy error (\(error.kind.rawValue)): \(error.message)")
                throw ExitCode.failure
            }
            print(PolicyTestSuite.compactJSON(evaluation.report))
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the policy's test cases (tests/*.json) and report each; exit non-zero on any failure."
        )

        @OptionGroup var options: PolicyOptions

        func run() throws {
            let revision = try options.loadRevision()
            let (cases, broken) = PolicyTestSuite.load(directory: options.directory)
            let outcomes = broken + PolicyTestSuite.run(cases, on: revision)
            for outcome in outcomes {
                if let failure = outcome.failure {
                    print("FAIL \(outcome.file): \(outcome.name)\n     \(failure)")
                } else {
                    print("PASS \(outcome.file): \(outcome.name)")
                }
            }
            let failed = outcomes.filter { !$0.passed }.count
            if outcomes.isEmpty {
                print("no test cases in \(options.directory)/\(PolicyTestSuite.folderName)/*.json")
            }
            print("revision \(revision.id)")
            print("\(outcomes.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode.failure }
        }
    }
}
