import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Drives `chittycharge serve` as an operator would: start, answer, stop on SIGTERM, and
/// refuse a bad configuration with a clear message.
@Suite struct ServeCLITests {
    let cli = PolicyCLITests()

    static func temporaryDatabaseURL() -> String {
        "sqlite://" + FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID()).sqlite").path
    }

    @Test func aSecondServeOnTheSameSQLiteFileRefusesToStartAndPointsToPostgreSQL() async throws {
        let database = Self.temporaryDatabaseURL()
        let first = try await ServedProcess.start(arguments: ["--database-url", database], environment: ["CHITTY_ID_TOKEN": "serve-test-token"])
        #expect(try await first.waitUntilHealthy() != nil)
        let second = try await ServedProcess.start(arguments: ["--database-url", database], environment: ["CHITTY_ID_TOKEN": "serve-test-token"])
        let (status, log) = await second.exit()
        #expect(status != 0)
        #expect(log.contains("already served by another process") && log.contains("PostgreSQL"), "\(log)")
        #expect(await first.health() != nil, "the first keeps serving")
        #expect(await first.stop().status == 0)
    }

    @Test func serveAnswersAndStopsGracefullyOnSIGTERM() async throws {
        let server = try await ServedProcess.start(environment: ["CHITTY_ID_TOKEN": "serve-test-token"])
        let health = try await server.waitUntilHealthy()
        #expect(health?["status"] as? String == "healthy")
        #expect(health?["stripe_mode"] as? String == "emulator")
        #expect(health?["chittyid_mode"] as? String == "emulator")

        let (status, log) = await server.stop()
        #expect(status == 0, "\(log)")
        #expect(log.contains("STRIPE EMULATOR in use"))
        #expect(log.contains("CHITTYID EMULATOR in use"))
        #expect(log.contains("ChittyCharge stopped"))
        #expect(!log.contains("serve-test-token"), "the token must never be logged")
    }

    @Test func serveRefusesABrokenPolicyWithItsFileAndLine() async throws {
        let broken = try cli.folder("function hold_limit(req)\n  return {\nend\n")
        let result = try await cli.run(["serve", "--policy-dir", broken, "--database-url", Self.temporaryDatabaseURL()])
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("policy.lua:"), "\(result.stdout)\(result.stderr)")
    }

    @Test func serveRefusesAnUnsafeClientNameWithItsLine() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clients-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let digest = String(repeating: "ab", count: 32)
        try "# clients\nfrontdesk:\(digest)\nadmin:\(digest)\n".write(to: file, atomically: true, encoding: .utf8)
        // A database that cannot open, checked after the clients file: a server that took
        // the file would stop there instead of serving on (and this test would not hang).
        let result = try await cli.run([
            "serve", "--policy-dir", PolicyCLITests.policies, "--database-url", "sqlite:///nonexistent-\(UUID().uuidString)/x.sqlite",
            "--clients-file", file.path,
        ])
        #expect(result.status != 0)
        let output = result.stdout + result.stderr
        #expect(output.contains("line 3") && output.contains("reserved"), "\(output)")
    }

    @Test(arguments: [
        (["--stripe", "real"], "--stripe accepts only 'emulator'"),
        (["--chittyid", "cloud"], "--chittyid accepts only 'emulator'"),
        (["--database-url", "postgres://localhost/chittycharge"], "names no user"),
        (["--database-url", "postgres://cc@localhost/chittycharge?sslmode=maybe"], "sslmode must be one of disable, require, verify-full"),
        (["--database-url", "postgres://cc@127.0.0.1:1/chittycharge?sslmode=disable"], "could not open the PostgreSQL store at postgres://cc@127.0.0.1:1/chittycharge"),
        (["--database-url", "mysql://x"], "DATABASE_URL must look like sqlite://"),
        (["--port", "99999"], "port"),
        (["--payment-method-types", "card,sepa_debit"], "payment method type 'sepa_debit' cannot be used for holds"),
    ])
    func serveRefusesBadConfigurationClearly(_ arguments: [String], _ message: String) async throws {
        var all = ["serve", "--policy-dir", PolicyCLITests.policies]
        if !arguments.contains("--database-url") { all += ["--database-url", Self.temporaryDatabaseURL()] }
        let result = try await cli.run(all + arguments)
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).localizedCaseInsensitiveContains(message), "\(result.stdout)\(result.stderr)")
    }
}
