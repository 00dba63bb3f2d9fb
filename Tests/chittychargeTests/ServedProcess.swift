import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `chittycharge serve` started as an operator would, with both emulators, a fresh SQLite
/// file and its output collected, for the suites that drive the running binary.
struct ServedProcess: Sendable {
    let process: ChildProcess.Running
    /// Where its standard output and error go.
    let log: URL
    let port: Int

    /// `arguments` come after the defaults (a later flag wins); `environment` is added to
    /// this process's own.
    /// `stripe`: nil for the real Stripe client (STRIPE_SECRET_KEY and STRIPE_API_BASE in
    /// `environment`) instead of the built-in emulator.
    static func start(port: Int = Int.random(in: 21_000..<29_000), policyDirectory: String = PolicyCLITests.policies,
                      stripe: String? = "emulator", arguments: [String] = [], environment: [String: String]) async throws -> ServedProcess {
        let stripeArguments = stripe.map { ["--stripe", $0, "--stripe-emulator-port", "0"] } ?? []
        let arguments = ["serve"] + stripeArguments + [
            "--chittyid", "emulator", "--port", String(port), "--policy-dir", policyDirectory,
            "--database-url", ServeCLITests.temporaryDatabaseURL(),
        ] + arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("served-\(UUID().uuidString).log")
        let process = try await ChildProcess.Running.start(
            PolicyCLITests.executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            logFile: log)
        return ServedProcess(process: process, log: log, port: port)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func health() async -> [String: Any]? {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: baseURL + "/health")!) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// `/health` once the server answers, or nil after about ten seconds.
    func waitUntilHealthy() async throws -> [String: Any]? {
        for _ in 0..<100 {
            if let health = await health() { return health }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// SIGTERM, then its exit status and everything it wrote.
    func stop() async -> (status: Int32, log: String) {
        process.send(SIGTERM)
        return await exit()
    }

    /// Waits for it to end by itself (a refused start), then its status and output.
    func exit() async -> (status: Int32, log: String) {
        let status = (try? await process.waitForExit()) ?? -1
        defer { try? FileManager.default.removeItem(at: log) }
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
