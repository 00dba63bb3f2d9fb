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
        case decision(JSONValue)
        case error(containing: String)
    }

    public let file: String
    public let name: String
    public let hook: PolicyHook
    public let input: JSONValue
    public let expectation: Expectation
}

public struct PolicyTestOutcome: Sendable, Equatable {
    public let file: String
    public let name: String
    /// Nil when the case passed; otherwise what differed.
    public let failure: String?

    public var passed: Bool { failure == nil }
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

    /// The cases in a source set's test files (`PolicySourceSet.testFiles`).
    public static func load(files: [PolicySourceSet.File]) -> (cases: [PolicyTestCase], broken: [PolicyTestOutcome]) {
        var cases: [PolicyTestCase] = []
        var broken: [PolicyTestOutcome] = []
        for testFile in files {
            let file = testFile.path
            let list: JSONValue
            do {
                list = try JSONDecoder().decode(JSONValue.self, from: Data(testFile.contents))
            } catch {
                broken.append(PolicyTestOutcome(file: file, name: "(file)", failure: "not valid JSON: \(error)"))
                continue
            }
            guard case .array(let entries) = list else {
                broken.append(PolicyTestOutcome(file: file, name: "(file)", failure: "must be a JSON list of cases"))
                continue
            }
            for (index, entry) in entries.enumerated() {
                switch parse(entry, file: file, index: index) {
                case .success(let testCase): cases.append(testCase)
                case .failure(let error): broken.append(error.outcome)
                }
            }
        }
        return (cases, broken)
    }

    private static func parse(_ entry: JSONValue, file: String, index: Int) -> Result<PolicyTestCase, PolicyTestOutcomeError> {
        let name = entry["name"]?.stringValue ?? "case \(index + 1)"
        func broken(_ why: String) -> Result<PolicyTestCase, PolicyTestOutcomeError> {
            .failure(PolicyTestOutcomeError(outcome: PolicyTestOutcome(file: file, name: name, failure: why)))
        }
        guard case .object = entry else { return broken("a case must be an object") }
        guard let hookName = entry["hook"]?.stringValue else { return broken("missing \"hook\"") }
        guard let hook = PolicyHook(rawValue: hookName) else {
            return broken("unknown hook '\(hookName)' (hooks: \(PolicyHook.allCases.map(\.name).joined(separator: ", ")))")
        }
        guard let input = entry["input"], case .object = input else { return broken("\"input\" must be an object") }
        let expectation: PolicyTestCase.Expectation
        if let text = entry["expect_error"]?.stringValue {
            expectation = .error(containing: text)
        } else if let expected = entry["expect"], case .object = expected {
            expectation = .decision(expected)
        } else {
            return broken("needs \"expect\" (an object) or \"expect_error\" (a string)")
        }
        return .success(PolicyTestCase(file: file, name: name, hook: hook, input: input, expectation: expectation))
    }

    public static func run(_ cases: [PolicyTestCase], on revision: PolicyRevision) -> [PolicyTestOutcome] {
        cases.map { testCase in
            let evaluation = revision.evaluate(testCase.hook, input: testCase.input)
            return PolicyTestOutcome(file: testCase.file, name: testCase.name, failure: failure(of: testCase, evaluation))
        }
    }

    private static func failure(of testCase: PolicyTestCase, _ evaluation: AnyPolicyEvaluation) -> String? {
        switch (testCase.expectation, evaluation.error) {
        case (.decision(let expected), nil):
            return evaluation.decision.matches(expected) ? nil : "expected \(compactJSON(expected)), got \(compactJSON(evaluation.decision))"
        case (.decision, let error?):
            return "policy error: \(error.message)"
        case (.error(let text), nil):
            return "expected an error containing \"\(text)\", got \(compactJSON(evaluation.decision))"
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
