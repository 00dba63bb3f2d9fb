import Foundation
import Testing

/// `policy eval` and `policy test` as a property manager writing tests uses them: ISO times,
/// unknown input fields, --run, file:line:col, --coverage and its minimum, --explain.
extension PolicyCLITests {
    /// A folder with `policy.lua` and the given `tests/` files.
    func folder(_ policy: String, tests: [String: String]) throws -> String {
        let dir = try folder(policy)
        try FileManager.default.createDirectory(atPath: dir + "/tests", withIntermediateDirectories: true)
        for (name, text) in tests { try text.write(toFile: dir + "/tests/\(name)", atomically: true, encoding: .utf8) }
        return dir
    }

    static let limitPolicy = """
        function hold_limit(req)
          if req.amount > 1000 then
            return { allow = false, max_amount = 1000, tier = "x" }
          end
          return { allow = true, max_amount = 1000, tier = "x" }
        end
        """

    static let limitTests = #"""
        [
          {"name": "small is allowed", "hook": "hold_limit", "input": {"amount": 10}, "expect": {"allow": true}},
          {"name": "small is allowed twice", "hook": "hold_limit", "input": {"amount": 20}, "expect": {"allow": true}}
        ]
        """#

    @Test func evalPrintsScheduleTimesAsISOWithTheSecondsBeside() async throws {
        let hold = #"{"id":"h","amount":50000,"status":"requires_capture","created_at":"2025-07-01T12:00:00Z","capture_before":"2025-07-31T12:00:00Z","metadata":{"check_out":"2025-07-10T11:00:00-05:00"}}"#
        let result = try await run(["policy", "eval", "--dir", Self.policies, "hold_schedule", hold])
        #expect(result.status == 0, "\(result.stderr)")
        let decision = try json(result.stdout)
        #expect(decision["at"] as? String == "2025-07-12T16:00:00Z")
        #expect(decision["at_unix"] as? Int == 1_752_336_000)
    }

    @Test func evalRefusesAnUnknownInputFieldNamingIt() async throws {
        let result = try await run(["policy", "eval", "--dir", Self.policies, "hold_limit", #"{"amount":5000,"propertyid":"p1"}"#])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("unknown input field 'propertyid' for hold_limit; fields: amount, client, currency, customer_email, description, metadata, property_id, tenant_id"), "\(result.stderr)")
    }

    @Test func testRunsOnlyTheCasesNamedAndFailsWhenNoneMatches() async throws {
        let dir = try folder(Self.limitPolicy, tests: ["limits.json": Self.limitTests])
        let exact = try await run(["policy", "test", "--dir", dir, "--run", "small is allowed"])
        #expect(exact.status == 0, "\(exact.stdout)")
        #expect(exact.stdout.contains("PASS tests/limits.json:2: small is allowed\n"))
        #expect(exact.stdout.hasSuffix("1 passed, 0 failed\n"), "\(exact.stdout)")
        let part = try await run(["policy", "test", "--dir", dir, "--run", "allowed"])
        #expect(part.stdout.hasSuffix("2 passed, 0 failed\n"), "\(part.stdout)")
        let none = try await run(["policy", "test", "--dir", dir, "--run", "refused"])
        #expect(none.status == 1)
        #expect(none.stdout.contains("no test case is named 'refused' or has it in its name"), "\(none.stdout)")
    }

    @Test func testNamesTheLineAndColumnOfAJSONError() async throws {
        let dir = try folder(Self.limitPolicy, tests: ["limits.json": Self.limitTests, "broken.json": "[\n  {\"name\": \"a\",\n   \"hook\" \"cors\"}\n]\n"])
        let result = try await run(["policy", "test", "--dir", dir])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL tests/broken.json:3:11: (file)\n     not valid JSON: "), "\(result.stdout)")
        #expect(result.stdout.hasSuffix("2 passed, 1 failed\n"))
    }

    @Test func testShowsCoverageAndFailsBelowTheMinimum() async throws {
        let dir = try folder(Self.limitPolicy, tests: ["limits.json": Self.limitTests])
        let shown = try await run(["policy", "test", "--dir", dir, "--coverage"])
        #expect(shown.status == 0, "\(shown.stdout)")
        // Lines 2, 3 and 5 carry code, and so do 1 and 6, where the function is defined
        // (run when the policy loads); the cases never refuse.
        #expect(shown.stdout.contains("  policy.lua  4/5 lines (80.0%)  not run: 3\n"), "\(shown.stdout)")
        #expect(shown.stdout.contains("  total: 4/5 lines (80.0%)\n"))

        let flag = try await run(["policy", "test", "--dir", dir, "--minimum", "85"])
        #expect(flag.status == 1)
        #expect(flag.stdout.contains("coverage 80.0% is below the required minimum of 85.0% (--minimum)"), "\(flag.stdout)")

        try #"{"tests": {"minimum_coverage_percent": 85}}"#.write(toFile: dir + "/settings.json", atomically: true, encoding: .utf8)
        let folderMinimum = try await run(["policy", "test", "--dir", dir])
        #expect(folderMinimum.status == 1)
        #expect(folderMinimum.stdout.contains("below the required minimum of 85.0% (settings.json tests.minimum_coverage_percent)"), "\(folderMinimum.stdout)")
        #expect(folderMinimum.stdout.hasSuffix("2 passed, 0 failed\n"))

        try #"{"tests": {"minimum_coverage_percent": 80}}"#.write(toFile: dir + "/settings.json", atomically: true, encoding: .utf8)
        let met = try await run(["policy", "test", "--dir", dir])
        #expect(met.status == 0, "\(met.stdout)")
    }

    @Test func explainShowsTheRefusingLineOfTiersForAnOverLimitHold() async throws {
        let result = try await run(["policy", "eval", "--dir", Self.policies, "--explain", "hold_limit", #"{"amount":300000,"metadata":{"guest_tier":"NEW_GUEST"}}"#])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(try json(lines[0])["allow"] as? Bool == false)
        #expect(lines[1].hasPrefix("hold_limit ran "))
        #expect(lines.contains { $0.hasPrefix("  tiers.lua:") && $0.hasSuffix("if amount > limit then") }, "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("  tiers.lua:") && $0.contains("reason = \"Amount exceeds limit for \"") }, "\(result.stdout)")
    }

    @Test func explainShowsTheLinesUpToAPolicyError() async throws {
        let dir = try folder("function cors(req)\n  local origin = req.origin\n  if origin == 'boom' then\n    error('no such origin')\n  end\n  return { allow = true }\nend\n")
        let result = try await run(["policy", "eval", "--dir", dir, "--explain", "cors", #"{"origin":"boom"}"#])
        #expect(result.status == 1)
        #expect(result.stdout.contains("  policy.lua:4  error('no such origin')\n"), "\(result.stdout)")
        #expect(result.stderr.contains("policy error (runtime): policy.lua:4: no such origin"))
    }
}
