import Foundation
import JSON

/// The policy's own test cases: JSON files in `tests/` beside `policy.lua`, each a list of
///
///     {"name": "...", "hook": "hold_limit", "input": {...}, "expect": {...}}
///
/// where `expect` lists the decision fields that must match (others are ignored), or
/// `"expect_error": "text"` for a case whose hook must fail with a message containing text.
/// Cases run through the same evaluation path as the server, including result validation.
public struct PolicyTestCase: Sendable {
    public enum Expectation: Sendable {
        /// Times (`at`) are Unix seconds here, whichever form the file used.
        case decision(JSONValue)
        case error(containing: String)
    }

    public let file: String
    public let name: String
    public let hook: PolicyHook
    public let input: JSONValue
    public let expectation: Expectation
    /// Where the case starts in its file (nil for cases built in code).
    public var line: Int? = nil
}

public struct PolicyTestOutcome: Sendable, Equatable {
    public let file: String
    public let name: String
    /// Nil when the case passed; otherwise what differed.
    public let failure: String?
    /// Where in the file the case (or the file's JSON error) is, when known.
    public var line: Int? = nil
    public var column: Int? = nil

    public var passed: Bool { failure == nil }

    /// `tests/x.json:12:5`, `tests/x.json:12` or `tests/x.json`.
    public var location: String {
        guard let line else { return file }
        return column.map { "\(file):\(line):\($0)" } ?? "\(file):\(line)"
    }
}

public enum PolicyTestSuite {
    public static let folderName = "tests"
    /// Reads every `tests/*.json`. A file or case that cannot be read becomes a failed outcome
    /// rather than stopping the run, so one typo does not hide the other results.
    public static func load(directory: String) -> (cases: [PolicyTestCase], broken: [PolicyTestOutcome]) {
        do {
            return load(files: try PolicySourceSet(directory: directory).testFiles)
        } catch {
            return ([], [PolicyTestOutcome(file: folderName, name: "(folder)", failure: error.message)])
        }
    }

    /// The cases in a source set's test files (`PolicySourceSet.testFiles`): the tests are
    /// part of the revision, so a stored revision's tests are read the same way.
    public static func load(files: [PolicySourceSet.File]) -> (cases: [PolicyTestCase], broken: [PolicyTestOutcome]) {
        var cases: [PolicyTestCase] = []
        var broken: [PolicyTestOutcome] = []
        for testFile in files {
            let file = testFile.path
            let bytes = testFile.contents
            let list: JSONValue
            do {
                list = try JSONValue(jsonData: Data(bytes))
            } catch let error as JSONParseError {
                let (line, column) = PolicyTestFilePosition.lineAndColumn(of: error.offset, in: bytes)
                broken.append(PolicyTestOutcome(file: file, name: "(file)", failure: "not valid JSON: \(error.reason)", line: line, column: column))
                continue
            } catch {
                broken.append(PolicyTestOutcome(file: file, name: "(file)", failure: "not valid JSON: \(error)"))
                continue
            }
            guard case .array(let entries) = list else {
                broken.append(PolicyTestOutcome(file: file, name: "(file)", failure: "must be a JSON list of cases", line: 1, column: 1))
                continue
            }
            let starts = PolicyTestFilePosition.listElementOffsets(in: bytes)
            for (index, entry) in entries.enumerated() {
                let line = index < starts.count ? PolicyTestFilePosition.lineAndColumn(of: starts[index], in: bytes).line : nil
                switch parse(entry, file: file, index: index, line: line) {
                case .success(let testCase): cases.append(testCase)
                case .failure(let error): broken.append(error.outcome)
                }
            }
        }
        return (cases, broken)
    }

    private static func parse(_ entry: JSONValue, file: String, index: Int, line: Int?) -> Result<PolicyTestCase, PolicyTestOutcomeError> {
        let name = entry["name"]?.stringValue ?? "case \(index + 1)"
        func broken(_ why: String) -> Result<PolicyTestCase, PolicyTestOutcomeError> {
            .failure(PolicyTestOutcomeError(outcome: PolicyTestOutcome(file: file, name: name, failure: why, line: line)))
        }
        guard case .object = entry else { return broken("a case must be an object") }
        guard let hookName = entry["hook"]?.stringValue else { return broken("missing \"hook\"") }
        guard let hook = PolicyHook(rawValue: hookName) else {
            return broken("unknown hook '\(hookName)' (hooks: \(PolicyHook.allCases.map(\.name).joined(separator: ", ")))")
        }
        guard let input = entry["input"], case .object = input else { return broken("\"input\" must be an object") }
        if let problem = hook.unknownInputFieldProblem(in: input) { return broken(problem) }
        let expectation: PolicyTestCase.Expectation
        if let text = entry["expect_error"]?.stringValue {
            expectation = .error(containing: text)
        } else if let expected = entry["expect"], case .object(var fields) = expected {
            for field in hook.decisionTimeFields {
                guard let value = fields[field] else { continue }
                guard let seconds = PolicyTime.seconds(from: value) else {
                    return broken("\"expect\".\(field) must be an ISO-8601 time such as \"2025-07-12T16:00:00Z\" or Unix seconds")
                }
                fields[field] = .integer(seconds)
            }
            expectation = .decision(.object(fields))
        } else {
            return broken("needs \"expect\" (an object) or \"expect_error\" (a string)")
        }
        return .success(PolicyTestCase(file: file, name: name, hook: hook, input: input, expectation: expectation, line: line))
    }

    /// The cases `policy test --run NAME` runs: those named exactly NAME, or, when none is,
    /// every case whose name contains it.
    public static func select(_ cases: [PolicyTestCase], named name: String) -> [PolicyTestCase] {
        let exact = cases.filter { $0.name == name }
        return exact.isEmpty ? cases.filter { $0.name.contains(name) } : exact
    }

    public static func run(_ cases: [PolicyTestCase], on revision: PolicyRevision) -> [PolicyTestOutcome] {
        cases.map { testCase in
            outcome(of: testCase, revision.evaluate(testCase.hook, input: testCase.input))
        }
    }

    static func outcome(of testCase: PolicyTestCase, _ evaluation: AnyPolicyEvaluation) -> PolicyTestOutcome {
        PolicyTestOutcome(file: testCase.file, name: testCase.name, failure: failure(of: testCase, evaluation), line: testCase.line)
    }

    private static func failure(of testCase: PolicyTestCase, _ evaluation: AnyPolicyEvaluation) -> String? {
        switch (testCase.expectation, evaluation.error) {
        case (.decision(let expected), nil):
            guard !evaluation.decision.matches(expected) else { return nil }
            let hook = testCase.hook
            return "expected \(compactJSON(hook.readable(expected, withSeconds: false))), got \(compactJSON(hook.readable(evaluation.decision, withSeconds: false)))"
        case (.decision, let error?):
            return "policy error: \(error.message)"
        case (.error(let text), nil):
            return "expected an error containing \"\(text)\", got \(compactJSON(testCase.hook.readable(evaluation.decision, withSeconds: false)))"
        case (.error(let text), let error?):
            return error.message.contains(text) ? nil : "expected an error containing \"\(text)\", got: \(error.message)"
        }
    }

    public static func compactJSON(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}

struct PolicyTestOutcomeError: Error {
    let outcome: PolicyTestOutcome
}
