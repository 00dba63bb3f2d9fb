import Foundation
import JSON
import Testing
@testable import PolicyEngine

/// Coverage and `--explain`: the lines a policy runs, recorded by the line hook.
@Suite struct PolicyLineRecordingTests {
    /// Line numbers matter below: 1 `local LIMIT`, 4 the check, 5 the refusal, 7 the allow.
    static let limitPolicy = """
        local LIMIT = 100

        function hold_limit(req)
          if req.amount > LIMIT then
            return { allow = false, max_amount = LIMIT, tier = "x" }
          end
          return { allow = true, max_amount = LIMIT, tier = "x" }
        end
        """

    func limitCase(_ name: String, amount: Int64, allow: Bool) -> PolicyTestCase {
        PolicyTestCase(file: "tests/a.json", name: name, hook: .holdLimit, input: ["amount": .integer(amount)], expectation: .decision(["allow": .bool(allow)]))
    }

    @Test func coverageCountsTheLinesTheCasesRanAmongTheLinesWithCode() throws {
        let revision = try makeRevision(Self.limitPolicy)
        let (outcomes, coverage) = try PolicyTestSuite.runMeasuringCoverage([limitCase("small", amount: 50, allow: true)], on: revision)
        #expect(outcomes.allSatisfy { $0.passed })
        let file = try #require(coverage.files.first)
        #expect(file.path == "policy.lua")
        // Blank lines and the `end` of an `if` carry no code.
        #expect(Set(file.executable).isSuperset(of: [1, 4, 5, 7, 8]))
        #expect(!file.executable.contains(2) && !file.executable.contains(6))
        #expect(file.uncovered == [5])
        #expect(coverage.percent < 100)

        let (_, full) = try PolicyTestSuite.runMeasuringCoverage(
            [limitCase("small", amount: 50, allow: true), limitCase("large", amount: 500, allow: false)], on: revision)
        #expect(full.files.first?.uncovered == [])
        #expect(full.percent == 100)
    }

    @Test func modulesNoCaseRequiresAreReportedAtNoCoverage() throws {
        let revision = try makeRevision("function cors(req) return { allow = true } end", modules: ["unused.lua": "local M = {}\nM.x = 1\nreturn M\n"])
        let (_, coverage) = try PolicyTestSuite.runMeasuringCoverage([], on: revision)
        let unused = try #require(coverage.files.first { $0.path == "unused.lua" })
        #expect(unused.executable == [1, 2, 3])
        #expect(unused.covered.isEmpty)
        #expect(coverage.files.first { $0.path == "policy.lua" }?.covered.contains(1) == true, "the load runs the definition")
    }

    /// Recording adds a line hook to the count hook: the instruction budget must stop a call
    /// at the same point either way.
    @Test func recordingLinesDoesNotChangeTheInstructionBudget() throws {
        let policy = """
            function rate_limit(req)
              local n = 0
              for i = 1, tonumber(req.route) or 1 do n = n + i end
              return { limit = 1, window = 60, key = tostring(n) }
            end
            """
        let revision = try makeRevision(policy, limits: PolicyLimits(instructionBudget: 50_000))
        func outcome(_ loops: Int, recording: Bool) throws -> PolicyEvaluationError.Kind? {
            let input: JSONValue = ["client": "c", "route": .string("\(loops)"), "method": "GET", "ip": "1"]
            let state = recording ? try revision.makeRecordingState() : nil
            return revision.evaluate(.rateLimit, input: input, on: state).error?.kind
        }
        for loops in [1_000, 10_000, 20_000, 40_000] {
            #expect(try outcome(loops, recording: true) == outcome(loops, recording: false), "\(loops) iterations")
        }
        #expect(try outcome(1_000, recording: true) == nil)
        #expect(try outcome(40_000, recording: true) == .instructionBudget)
    }

    @Test func explainListsTheRefusingLineOfTiersForAnOverLimitHold() throws {
        let revision = try PolicyRevision(sources: PolicySourceSet(directory: defaultPolicyDirectory), logger: quietLogger)
        let explanation = try revision.explain(.holdLimit, input: ["amount": 300_000, "metadata": ["guest_tier": "NEW_GUEST"]])
        #expect(explanation.evaluation.decision["allow"] == false)
        #expect(explanation.steps.first?.file == "policy.lua")
        let tiers = explanation.steps.filter { $0.file == "tiers.lua" }
        #expect(tiers.contains { $0.text.contains("if amount > limit then") })
        #expect(tiers.contains { $0.text.contains("\"Amount exceeds limit for \"") })
        // Each step's text is the line of the file it names.
        let lines = String(decoding: try #require(revision.sources.files.first { $0.path == "tiers.lua" }).contents, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
        for step in tiers {
            #expect(lines[step.line - 1].trimmingCharacters(in: .whitespaces) == step.text)
        }
        // A hold within the limit never reaches the refusal.
        let allowed = try revision.explain(.holdLimit, input: ["amount": 1_000, "metadata": ["guest_tier": "NEW_GUEST"]])
        #expect(!allowed.steps.contains { $0.text.contains("\"Amount exceeds limit for \"") })
    }

    @Test func explainCollapsesALineRunManyTimesInARow() throws {
        let revision = try makeRevision("""
            function cors(req)
              local n = 0
              for i = 1, 5 do n = n + i end
              return { allow = n == 15 }
            end
            """)
        let explanation = try revision.explain(.cors, input: ["origin": "x"])
        #expect(explanation.evaluation.decision == ["allow": true])
        #expect(explanation.steps.map(\.line) == [2, 3, 4])
        #expect((explanation.steps.first { $0.line == 3 }?.count ?? 0) >= 5)
        #expect(explanation.steps.first { $0.line == 3 }?.text == "for i = 1, 5 do n = n + i end")
    }
}
