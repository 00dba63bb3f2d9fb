@testable import chittycharge
import Foundation
import Testing

/// `chittycharge policy diff`: what changed between two stored revisions.
@Suite struct PolicyDiffCLITests {
    let cli = PolicyCLITests()

    @Test func theDiffIsUnifiedWithThreeLinesOfContextAndRemovalsFirst() {
        let old = (1...12).map { "line \($0)" }.joined(separator: "\n")
        var lines = (1...12).map { "line \($0)" }
        lines[1] = "line two"
        lines.append("line 13")
        #expect(UnifiedDiff.lines(old, lines.joined(separator: "\n"), oldName: "a/f", newName: "b/f") == """
            --- a/f
            +++ b/f
            @@ -1,5 +1,5 @@
             line 1
            -line 2
            +line two
             line 3
             line 4
             line 5
            @@ -10,3 +10,4 @@
             line 10
             line 11
             line 12
            +line 13

            """)
        #expect(UnifiedDiff.lines("same\n", "same\n", oldName: "a", newName: "b") == "")
        #expect(UnifiedDiff.lines("", "new", oldName: "/dev/null", newName: "b/f") == "--- /dev/null\n+++ b/f\n@@ -0,0 +1,1 @@\n+new\n")
    }

    @Test func aReloadedSettingShowsAsAUnifiedDiffOfTheStoredFiles() async throws {
        let policies = try PolicyReloadCLITests.policyCopy()
        let adminToken = PolicyReloadCLITests.adminToken
        let server = try await ServedProcess.start(
            policyDirectory: policies.path, environment: ["CHITTY_ID_TOKEN": "diff-token", "ADMIN_TOKEN": adminToken])
        defer { server.process.send(SIGKILL) }
        let first = try #require(try await server.waitUntilHealthy()?["policy_revision"] as? String)
        let admin = ["--url", server.baseURL, "--admin-token", adminToken]

        let settings = policies.appendingPathComponent("settings.json")
        let shipped = try String(contentsOf: settings, encoding: .utf8)
        try shipped.replacingOccurrences(of: "\"long_stay_nights\": null,", with: "\"long_stay_nights\": 30,")
            .write(to: settings, atomically: true, encoding: .utf8)
        let reload = try await cli.run(["policy", "reload", "-m", "month-long stays get 72 h"] + admin)
        #expect(reload.status == 0, "\(reload.stderr)")
        let status = try await cli.run(["policy", "status"] + admin)
        #expect(status.stdout.contains(" api by admin: month-long stays get 72 h\n"), "\(status.stdout)")
        let second = try #require(await server.health()?["policy_revision"] as? String)
        #expect(second != first)

        let diff = try await cli.run(["policy", "diff", first] + admin)
        #expect(diff.status == 0, "\(diff.stderr)")
        let lines = diff.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "--- \(first)/settings.json")
        #expect(lines.dropFirst().first == "+++ \(second)/settings.json")
        #expect(lines.contains("-    \"long_stay_nights\": null,"), "\(diff.stdout)")
        #expect(lines.contains("+    \"long_stay_nights\": 30,"), "\(diff.stdout)")
        #expect(lines.filter { $0.hasPrefix("-") || $0.hasPrefix("+") }.count == 4, "only the one line and the two headers: \(diff.stdout)")
        #expect(lines.contains { $0.hasPrefix("@@ -") && $0.hasSuffix(" @@") })

        let same = try await cli.run(["policy", "diff", second, second] + admin)
        #expect(same.stdout == "policy diff: revisions \(second) and \(second) have the same files\n")
        let unknown = try await cli.run(["policy", "diff", "000000000000"] + admin)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("No stored policy revision '000000000000'"), "\(unknown.stderr)")
    }
}
