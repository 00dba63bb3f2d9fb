import Foundation
import JSON
import Testing
@testable import PolicyEngine

/// A policy folder on disk with `policy.lua` and the given `tests/` files.
private func policyFolder(_ policy: String, tests: [String: String]) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policy-authoring-\(UUID())")
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("tests"), withIntermediateDirectories: true)
    try policy.write(to: folder.appendingPathComponent("policy.lua"), atomically: true, encoding: .utf8)
    for (name, text) in tests {
        try text.write(to: folder.appendingPathComponent("tests/\(name)"), atomically: true, encoding: .utf8)
    }
    return folder.path
}

/// Returns `at` as the policy wrote it in `metadata.at` (a string or a number).
private let scheduleEcho = """
    function hold_schedule(hold)
      return { action = "release", at = hold.metadata.at or 1752336000 }
    end
    """

@Suite struct PolicyTimeTests {
    func schedule(_ at: JSONValue) throws -> PolicyEvaluation<HoldScheduleHook.Decision> {
        var hold = HoldScheduleHook.smokeInput
        hold.metadata = ["at": at]
        return try makeRevision(scheduleEcho).holdSchedule(hold)
    }

    @Test func holdScheduleMayReturnISOTextOrSecondsForTheSameInstant() throws {
        for at: JSONValue in [1_752_336_000, "2025-07-12T16:00:00Z", "2025-07-12T18:00:00+02:00", "2025-07-12T11:00:00-05:00"] {
            let evaluation = try schedule(at)
            #expect(evaluation.error == nil, "\(at)")
            #expect(evaluation.decision == .init(action: .release, at: 1_752_336_000), "\(at)")
        }
    }

    @Test func anISOTimeOutsideTheYears2000To2100OrUnreadableIsRefusedByName() throws {
        let early = try schedule("1999-12-31T23:59:59Z")
        #expect(early.source == .failClosed)
        #expect(early.error?.message.contains("returned 'at' = \"1999-12-31T23:59:59Z\"; it must be between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z") == true,
                "\(early.error?.message ?? "")")
        let garbled = try schedule("next tuesday")
        #expect(garbled.error?.message.contains("returned 'at' = \"next tuesday\"; it must be Unix seconds or an ISO-8601 time") == true,
                "\(garbled.error?.message ?? "")")
        let milliseconds = try schedule(1_752_336_000_000)
        #expect(milliseconds.error?.message.contains("it must be between 946684800 and 4102444800") == true)
    }

    @Test func isoTextRoundTrips() {
        #expect(PolicyTime.iso(1_752_336_000) == "2025-07-12T16:00:00Z")
        #expect(PolicyTime.seconds(fromISO: "2025-07-12T16:00:00Z") == 1_752_336_000)
        #expect(PolicyTime.seconds(fromISO: "2025-07-12") == 1_752_278_400)
        #expect(PolicyTime.seconds(fromISO: "12 July") == nil)
        #expect(HoldScheduleHook.hook.readable(["action": "release", "at": 1_752_336_000])
                == ["action": "release", "at": "2025-07-12T16:00:00Z", "at_unix": 1_752_336_000])
    }

    @Test func testCasesMatchAnExpectedTimeGivenAsISOOrSecondsAndShowFailuresInISO() throws {
        let directory = try policyFolder(scheduleEcho, tests: ["schedule.json": #"""
            [
              {"name": "iso", "hook": "hold_schedule", "input": {"metadata": {}}, "expect": {"at": "2025-07-12T16:00:00Z"}},
              {"name": "iso with offset", "hook": "hold_schedule", "input": {"metadata": {}}, "expect": {"at": "2025-07-12T12:00:00-04:00"}},
              {"name": "seconds", "hook": "hold_schedule", "input": {"metadata": {}}, "expect": {"at": 1752336000}},
              {"name": "an hour off", "hook": "hold_schedule", "input": {"metadata": {}}, "expect": {"action": "release", "at": "2025-07-12T17:00:00Z"}},
              {"name": "not a time", "hook": "hold_schedule", "input": {"metadata": {}}, "expect": {"at": "soon"}}
            ]
            """#])
        let revision = try PolicyRevision(sources: PolicySourceSet(directory: directory), logger: quietLogger)
        let (cases, broken) = PolicyTestSuite.load(directory: directory)
        let outcomes = Dictionary(uniqueKeysWithValues: (broken + PolicyTestSuite.run(cases, on: revision)).map { ($0.name, $0) })
        #expect(outcomes["iso"]?.passed == true)
        #expect(outcomes["iso with offset"]?.passed == true)
        #expect(outcomes["seconds"]?.passed == true)
        #expect(outcomes["an hour off"]?.failure
                == #"expected {"action":"release","at":"2025-07-12T17:00:00Z"}, got {"action":"release","at":"2025-07-12T16:00:00Z"}"#)
        #expect(outcomes["not a time"]?.failure?.contains(#""expect".at must be an ISO-8601 time"#) == true)
    }
}

@Suite struct PolicyTestFileTests {
    @Test func anUnknownInputFieldFailsTheCaseNamingItAndTheAllowedFields() throws {
        let directory = try policyFolder("", tests: ["limits.json": #"""
            [
              {"name": "typo", "hook": "hold_limit", "input": {"amount": 5000, "propertyid": "p1"}, "expect": {"allow": true}},
              {"name": "booking is known", "hook": "hold_schedule", "input": {"id": "h", "booking": {"state": "checked_in"}}, "expect": {"action": "none"}},
              {"name": "settings are not input", "hook": "hold_schedule", "input": {"id": "h", "settings": {}}, "expect": {"action": "none"}}
            ]
            """#])
        let (cases, broken) = PolicyTestSuite.load(directory: directory)
        #expect(cases.map(\.name) == ["booking is known"])
        let typo = try #require(broken.first { $0.name == "typo" })
        #expect(typo.failure == "unknown input field 'propertyid' for hold_limit; fields: amount, client, currency, customer_email, description, metadata, property_id, tenant_id")
        #expect(typo.location == "tests/limits.json:2")
        #expect(broken.first { $0.name == "settings are not input" }?.failure?.hasPrefix("unknown input field 'settings' for hold_schedule; fields: amount, booking,") == true)
    }

    @Test func aJSONSyntaxErrorIsReportedWithFileLineAndColumn() throws {
        // Line 3 misses the colon after "expect"; the é before it counts as one column.
        let directory = try policyFolder("", tests: ["x.json": """
            [
              {"name": "ok", "hook": "cors", "input": {}, "expect": {}},
              {"name": "é", "expect" {"allow": true}}
            ]
            """])
        let (cases, broken) = PolicyTestSuite.load(directory: directory)
        #expect(cases.isEmpty)
        let outcome = try #require(broken.first)
        #expect(outcome.location == "tests/x.json:3:26", "\(outcome)")
        #expect(outcome.failure?.hasPrefix("not valid JSON: ") == true)
    }

    @Test func aCaseWithABrokenShapeNamesTheLineWhereItStarts() throws {
        let directory = try policyFolder("", tests: ["x.json": """
            [
              {"name": "fine", "hook": "cors",
               "input": {"origin": "https://a.example", "path": "/{[\\"x"}, "expect": {}},

              {"name": "no hook",
               "input": {}, "expect": {}},
              {"name": "input is a list", "hook": "cors", "input": [], "expect": {}}
            ]
            """])
        let (cases, broken) = PolicyTestSuite.load(directory: directory)
        #expect(cases.map(\.name) == ["fine"])
        #expect(cases.first?.line == 2)
        #expect(broken.map(\.location) == ["tests/x.json:5", "tests/x.json:7"])
        #expect(broken.map(\.name) == ["no hook", "input is a list"])
    }

    @Test func theRequiredCoverageComesFromSettings() throws {
        #expect(try PolicyCoverage.requiredMinimum(settings: ["tests": ["minimum_coverage_percent": 75]]) == 75)
        #expect(try PolicyCoverage.requiredMinimum(settings: ["tests": ["minimum_coverage_percent": 72.5]]) == 72.5)
        #expect(try PolicyCoverage.requiredMinimum(settings: [:]) == nil)
        #expect(try PolicyCoverage.requiredMinimum(settings: ["tests": ["untested_hooks": []]]) == nil)
        #expect(throws: PolicyLoadError.self) { try PolicyCoverage.requiredMinimum(settings: ["tests": ["minimum_coverage_percent": "75"]]) }
        #expect(throws: PolicyLoadError.self) { try PolicyCoverage.requiredMinimum(settings: ["tests": ["minimum_coverage_percent": 101]]) }
    }

    @Test func runByNamePrefersAnExactNameOverNamesContainingIt() {
        let cases = ["refuses", "refuses over limit", "allows"].map {
            PolicyTestCase(file: "tests/a.json", name: $0, hook: .cors, input: [:], expectation: .decision([:]))
        }
        #expect(PolicyTestSuite.select(cases, named: "refuses").map(\.name) == ["refuses"])
        #expect(PolicyTestSuite.select(cases, named: "over").map(\.name) == ["refuses over limit"])
        #expect(PolicyTestSuite.select(cases, named: "lows").map(\.name) == ["allows"])
        #expect(PolicyTestSuite.select(cases, named: "nothing").isEmpty)
    }
}
