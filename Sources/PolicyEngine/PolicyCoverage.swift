import CLuaShim
import Foundation
import JSON

/// Which lines of the policy's files its test cases ran (`policy test --coverage`).
///
/// A line counts when it carries code (what Lua's activelines report for every function
/// of the file). Lines run while the policy loads count too: module-level code, and the
/// `end` of each function, where the function value is made.
public struct PolicyCoverage: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// The file's path in the folder ("tiers.lua").
        public let path: String
        /// Lines that carry code, ascending.
        public let executable: [Int]
        /// Those the tests ran.
        public let covered: Set<Int>

        public var uncovered: [Int] { executable.filter { !covered.contains($0) } }
        public var percent: Double { Self.percent(covered.count, of: executable.count) }

        static func percent(_ part: Int, of whole: Int) -> Double {
            whole == 0 ? 100 : Double(part) * 100 / Double(whole)
        }
    }

    /// Where a folder states the minimum its tests must cover: `tests/coverage.json`,
    /// `{"minimum_percent": 80}`.
    /// Where a folder requires a minimum: `settings.json` `{"tests": {"minimum_coverage_percent": N}}`.
    public static let minimumSetting = "\(PolicySourceSet.settingsFile) tests.minimum_coverage_percent"

    public let files: [File]
    /// True when a call ran so many lines that the record lost some (coverage may be low).
    public let truncated: Bool

    public var executableCount: Int { files.reduce(0) { $0 + $1.executable.count } }
    public var coveredCount: Int { files.reduce(0) { $0 + $1.covered.count } }
    /// Across all files: the figure a required minimum applies to.
    public var percent: Double { File.percent(coveredCount, of: executableCount) }

    /// The coverage a folder requires, or nil when it sets none. The one place that knows
    /// where the folder says so.
    public static func requiredMinimum(directory: String) throws(PolicyLoadError) -> Double? {
        try requiredMinimum(settings: PolicySourceSet(directory: directory).settings)
    }

    public static func requiredMinimum(settings: [String: JSONValue]) throws(PolicyLoadError) -> Double? {
        guard let minimum = settings["tests"]?["minimum_coverage_percent"] else { return nil }
        let number: Double
        switch minimum {
        case .integer(let integer): number = Double(integer)
        case .number(let double): number = double
        default: throw PolicyLoadError("\(minimumSetting) must be a number from 0 to 100")
        }
        guard (0...100).contains(number) else { throw PolicyLoadError("\(minimumSetting) must be from 0 to 100") }
        return number
    }

    /// Lines of one file that carry code.
    static func executableLines(of file: PolicySourceSet.File) -> [Int] {
        var lines: UnsafeMutablePointer<Int32>?
        var count = 0
        let status = file.contents.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { ccl_executable_lines($0.baseAddress, $0.count, &lines, &count) }
        }
        defer { free(lines) }
        guard status == 0, let lines else { return [] }
        return UnsafeBufferPointer(start: lines, count: count).map { Int($0) }
    }
}

extension PolicyTestSuite {
    /// Runs the cases like `run`, on states that record the lines they run (from loading
    /// the policy on), and reports the coverage of every policy file.
    public static func runMeasuringCoverage(
        _ cases: [PolicyTestCase], on revision: PolicyRevision
    ) throws(PolicyLoadError) -> (outcomes: [PolicyTestOutcome], coverage: PolicyCoverage) {
        var ran: [String: Set<Int>] = [:]
        var truncated = false
        func collect(_ state: LuaPolicyState) {
            let (lines, lost) = state.takeRecordedLines()
            truncated = truncated || lost
            for line in lines { ran[line.file, default: []].insert(line.line) }
        }
        var state = try revision.makeRecordingState()
        var outcomes: [PolicyTestOutcome] = []
        for testCase in cases {
            outcomes.append(outcome(of: testCase, revision.evaluate(testCase.hook, input: testCase.input, on: state)))
            collect(state)
            // A state a limit stopped is not used again (as in the pool); a new one loads again.
            if state.isSpent { state = try revision.makeRecordingState() }
        }
        collect(state)
        let files = revision.sources.files.filter { $0.kind == .module }.map { file in
            let executable = PolicyCoverage.executableLines(of: file)
            return PolicyCoverage.File(path: file.path, executable: executable, covered: ran[file.path, default: []].intersection(executable))
        }
        return (outcomes, PolicyCoverage(files: files, truncated: truncated))
    }
}
