import Foundation
import Testing

/// `chittycharge policy lint`: luacheck with the sandbox's globals and the hook names.
@Suite struct PolicyLintCLITests {
    let cli = PolicyCLITests()

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> PolicyCLITests.Run {
        let finished = try await ChildProcess.run(
            PolicyCLITests.executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new })
        return PolicyCLITests.Run(status: finished.status, stdout: finished.stdout, stderr: finished.stderr, seconds: 0)
    }

    @Test func theShippedFolderLintsClean() async throws {
        let result = try await cli.run(["policy", "lint", "--dir", PolicyCLITests.policies])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("policy lint: 4 file(s) in "), "\(result.stdout)")
    }

    @Test func aMisspelledHookAnAccidentalGlobalAndAMissingLibraryAreFoundWithTheirPlace() async throws {
        let dir = try cli.folder("""
            function hold_limt(req)
              total = (total or 0) + req.amount
              return io.open("/etc/passwd")
            end
            """)
        try "return {}\n".write(toFile: dir + "/tiers.lua", atomically: true, encoding: .utf8)
        let result = try await cli.run(["policy", "lint", "--dir", dir])
        #expect(result.status == 1)
        #expect(result.stdout.contains(
            "policy.lua:1:10: (W111) setting non-standard global variable 'hold_limt' (a misspelled hook? ChittyCharge calls hold_limit)"),
            "\(result.stdout)")
        #expect(result.stdout.contains("policy.lua:2:3: (W111) setting non-standard global variable 'total'\n"), "\(result.stdout)")
        #expect(result.stdout.contains("policy.lua:3:10: (W113) accessing undefined variable 'io'"), "\(result.stdout)")
        #expect(result.stdout.hasSuffix("policy lint: 4 warning(s) in \(dir)\n"), "\(result.stdout)")
    }

    @Test func withoutLuacheckItSaysHowToInstallItAndFails() async throws {
        let result = try await run(["policy", "lint", "--dir", PolicyCLITests.policies], environment: ["LUACHECK": "/nonexistent/luacheck"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Install it with: apt-get install lua-check"), "\(result.stderr)")
    }
}
