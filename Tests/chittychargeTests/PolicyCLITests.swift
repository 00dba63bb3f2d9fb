import Foundation
import Testing

/// Drives the built `chittycharge` binary as a property manager would.
@Suite struct PolicyCLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        let seconds: Double
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let policies = packageRoot.appendingPathComponent("policies").path

    /// The executable SwiftPM built next to this test bundle.
    static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = folder.appendingPathComponent("chittycharge")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return packageRoot.appendingPathComponent(".build/debug/chittycharge")
    }

    func run(_ arguments: [String]) async throws -> Run {
        let start = Date()
        let finished = try await ChildProcess.run(Self.executable, arguments)
        return Run(status: finished.status, stdout: finished.stdout, stderr: finished.stderr, seconds: Date().timeIntervalSince(start))
    }

    func folder(_ policy: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-policy-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try policy.write(to: folder.appendingPathComponent("policy.lua"), atomically: true, encoding: .utf8)
        return folder.path
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func checkSummarisesTheDefaultPolicy() async throws {
        let result = try await run(["policy", "check", "--dir", Self.policies])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("policy OK: revision "))
        #expect(result.stdout.contains("hold_limit (policy.lua:"))
        #expect(result.stdout.contains("\ntests: ") && result.stdout.contains(" case(s) passed\n"), "\(result.stdout)")
    }

    /// `policy check` runs everything a reload would: the tests, and a test per hook.
    @Test func checkRunsTheTestsAndTheGate() async throws {
        let dir = try folder("function cors(req)\n  return { allow = req.origin == \"https://a.example\" }\nend\n")
        let untested = try await run(["policy", "check", "--dir", dir])
        #expect(untested.status == 1)
        #expect(untested.stderr.hasPrefix("cors has no test case in tests/"), "\(untested.stderr)")

        try FileManager.default.createDirectory(atPath: dir + "/tests", withIntermediateDirectories: true)
        try #"[{"name": "a.example only", "hook": "cors", "input": {"origin": "https://b.example"}, "expect": {"allow": true}}]"#
            .write(toFile: dir + "/tests/cors.json", atomically: true, encoding: .utf8)
        let failing = try await run(["policy", "check", "--dir", dir])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("1 of 1 policy test case(s) failed"), "\(failing.stderr)")
        #expect(failing.stderr.contains("FAIL tests/cors.json:1: a.example only"), "\(failing.stderr)")

        try #"[{"name": "a.example only", "hook": "cors", "input": {"origin": "https://b.example"}, "expect": {"allow": false}}]"#
            .write(toFile: dir + "/tests/cors.json", atomically: true, encoding: .utf8)
        let passing = try await run(["policy", "check", "--dir", dir])
        #expect(passing.status == 0, "\(passing.stderr)")
        #expect(passing.stdout.contains("tests: 1 case(s) passed\n"), "\(passing.stdout)")

        try FileManager.default.removeItem(atPath: dir + "/tests")
        try #"{"tests": {"untested_hooks": ["cors"]}}"#.write(toFile: dir + "/settings.json", atomically: true, encoding: .utf8)
        let onPurpose = try await run(["policy", "check", "--dir", dir])
        #expect(onPurpose.status == 0, "\(onPurpose.stderr)")
        #expect(onPurpose.stdout.contains("tests: 0 case(s) passed; untested on purpose (settings.json): cors"), "\(onPurpose.stdout)")
    }

    @Test func checkReportsFileAndLine() async throws {
        let result = try await run(["policy", "check", "--dir", try folder("function cors(req)\n  return { allow = \nend\n")])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("policy.lua:3:"), "\(result.stderr)")
    }

    @Test func evalPrintsTheDecisionWithTheRevision() async throws {
        let result = try await run(["policy", "eval", "--dir", Self.policies, "hold_limit", #"{"amount":300000,"metadata":{"guest_tier":"NEW_GUEST"}}"#])
        #expect(result.status == 0, "\(result.stderr)")
        let decision = try json(result.stdout)
        #expect(decision["allow"] as? Bool == false)
        #expect(decision["tier"] as? String == "NEW_GUEST")
        #expect(decision["max_amount"] as? Int == 250_000)
        #expect((decision["revision"] as? String)?.count == 12)
        #expect(decision["source"] as? String == "policy")
    }

    @Test func evalDecidesOrigins() async throws {
        for (origin, allowed) in [("https://app.chitty.cc", true), ("https://evilchitty.cc", false), ("https://chitty.cc.evil.com", false)] {
            let result = try await run(["policy", "eval", "--dir", Self.policies, "cors", #"{"origin":"\#(origin)","method":"GET","path":"/api/holds"}"#])
            #expect(result.status == 0)
            #expect(try json(result.stdout)["allow"] as? Bool == allowed, "\(origin)")
        }
    }

    @Test func evalStopsAnInfiniteLoopQuickly() async throws {
        let result = try await run(["policy", "eval", "--dir", try folder("function cors(req)\n  while req.origin == 'loop' do end\n  return { allow = true }\nend\n"), "cors", #"{"origin":"loop"}"#])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        // The budget stopped it (not a wall-clock bound: a loaded CI machine is slow to start a process).
        #expect(result.stderr.contains("policy error (instruction_budget): policy.lua:2: instruction budget"), "\(result.stderr)")
    }

    @Test func evalRefusesBadInput() async throws {
        let unknownHook = try await run(["policy", "eval", "--dir", Self.policies, "hold_limitz", "{}"])
        #expect(unknownHook.status != 0 && unknownHook.stderr.contains("unknown hook 'hold_limitz'"))
        let badJSON = try await run(["policy", "eval", "--dir", Self.policies, "cors", "{origin:"])
        #expect(badJSON.status != 0 && badJSON.stderr.contains("not valid JSON"))
        let notObject = try await run(["policy", "eval", "--dir", Self.policies, "cors", "[1]"])
        #expect(notObject.status != 0 && notObject.stderr.contains("must be a JSON object"))
    }

    @Test func testRunsTheDefaultCases() async throws {
        let result = try await run(["policy", "test", "--dir", Self.policies])
        #expect(result.status == 0, "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.last?.hasSuffix(" 0 failed") == true)
        #expect(lines.filter { $0.hasPrefix("PASS ") }.count >= 40)
    }

    @Test func testFailsWhenACaseFails() async throws {
        let dir = try folder("function cors(req) return { allow = true } end")
        try FileManager.default.createDirectory(atPath: dir + "/tests", withIntermediateDirectories: true)
        try #"[{"name": "evil is refused", "hook": "cors", "input": {"origin": "https://evil.example"}, "expect": {"allow": false}}]"#
            .write(toFile: dir + "/tests/cors.json", atomically: true, encoding: .utf8)
        let result = try await run(["policy", "test", "--dir", dir])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL tests/cors.json:1: evil is refused"))
        #expect(result.stdout.hasSuffix("0 passed, 1 failed\n"))
    }
}
