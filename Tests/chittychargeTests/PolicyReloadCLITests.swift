import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// An operator changing the rules of a running `chittycharge serve`: `policy reload`,
/// `policy rollback`, `policy status` over the admin API, and SIGHUP.
@Suite struct PolicyReloadCLITests {
    let cli = PolicyCLITests()
    static let adminToken = "cli-admin-token-0123456789"

    /// A copy of the shipped policy folder, tests included, that the test may edit.
    static func policyCopy() throws -> URL {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("reload-cli-\(UUID())")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: PolicyCLITests.policies), to: target)
        return target
    }

    @Test func reloadRollbackStatusAndSIGHUPAgainstARunningServer() async throws {
        let policies = try Self.policyCopy()
        let tiers = policies.appendingPathComponent("tiers.lua")
        let original = try String(contentsOf: tiers, encoding: .utf8)
        let server = try await ServedProcess.start(
            policyDirectory: policies.path, environment: ["CHITTY_ID_TOKEN": "serve-test-token", "ADMIN_TOKEN": Self.adminToken])
        // Stopped at the end; if the test fails before, still not left running.
        defer { server.process.send(SIGKILL) }
        let port = server.port
        let started = try await server.waitUntilHealthy()
        let first = try #require(started?["policy_revision"] as? String)
        let admin = ["--url", "http://127.0.0.1:\(port)", "--admin-token", Self.adminToken]

        let status = try await cli.run(["policy", "status"] + admin)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("active revision \(first)"))
        #expect(status.stdout.contains("by startup"))

        try (original + "\n-- reviewed by ops\n").write(to: tiers, atomically: true, encoding: .utf8)
        let reload = try await cli.run(["policy", "reload"] + admin)
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.stdout.contains("policy reloaded: revision "))
        #expect(reload.stdout.contains("(was \(first))"))
        #expect(reload.stdout.contains("test case(s) passed"))
        let second = await server.health()?["policy_revision"] as? String
        #expect(second != nil && second != first)

        try (original + "\nnot lua at all(\n").write(to: tiers, atomically: true, encoding: .utf8)
        let broken = try await cli.run(["policy", "reload"] + admin)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("policy reload rejected: tiers.lua:"), "\(broken.stderr)")
        #expect(broken.stderr.contains("stays active"))
        #expect(await server.health()?["policy_revision"] as? String == second)

        let rollback = try await cli.run(["policy", "rollback"] + admin)
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(rollback.stdout.contains("policy rolled back: revision \(first)"))
        #expect(await server.health()?["policy_revision"] as? String == first)

        // SIGHUP reads the folder: fixed again, it becomes the revision reloaded above.
        try (original + "\n-- reviewed by ops\n").write(to: tiers, atomically: true, encoding: .utf8)
        server.process.send(SIGHUP)
        var afterSignal: String?
        for _ in 0..<50 {
            afterSignal = await server.health()?["policy_revision"] as? String
            if afterSignal == second { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(afterSignal == second)
        let shown = try await cli.run(["policy", "status"] + admin)
        #expect(shown.stdout.contains("by signal"), "\(shown.stdout)")
        // The SIGHUP activation cleared the failed reload before it.
        #expect(shown.stdout.contains("no failed reload since the last activation"), "\(shown.stdout)")

        let wrongToken = try await cli.run(["policy", "reload", "--url", "http://127.0.0.1:\(port)", "--admin-token", "serve-test-token"])
        #expect(wrongToken.status == 1)
        #expect(wrongToken.stderr.contains("refused the admin token"))
        #expect(!wrongToken.stderr.contains("serve-test-token"), "the token must never be printed")

        let (exitStatus, log) = await server.stop()
        #expect(exitStatus == 0, "\(log)")
        #expect(log.contains("SIGHUP: reloading policies"))
        #expect(!log.contains(Self.adminToken), "the admin token must never be logged")
    }

    @Test func reloadExplainsAServerItCannotReach() async throws {
        let result = try await cli.run(["policy", "reload", "--url", "http://127.0.0.1:9", "--admin-token", Self.adminToken])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot reach ChittyCharge at http://127.0.0.1:9"), "\(result.stderr)")
    }

    @Test func serveRefusesAnAdminTokenThatIsAlsoAClientToken() async throws {
        let server = try await ServedProcess.start(environment: [
            "CHITTY_ID_TOKEN": "the-same-token-0123456789", "ADMIN_TOKEN": "the-same-token-0123456789",
        ])
        // It refuses at once: wait for it to exit rather than stopping it.
        let (status, log) = await server.exit()
        #expect(status != 0)
        #expect(log.contains("ADMIN_TOKEN must differ from every client token"), "\(log)")
    }
}
