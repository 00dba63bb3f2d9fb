import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `chittycharge serve` started as an operator would, with both emulators, a fresh SQLite
/// file and its output collected, for the suites that drive the running binary.
struct ServedProcess {
    let process: Process
    let output: Pipe
    let port: Int

    /// `arguments` come after the defaults (a later flag wins); `environment` is added to
    /// this process's own.
    static func start(port: Int = Int.random(in: 21_000..<29_000), policyDirectory: String = PolicyCLITests.policies,
                      arguments: [String] = [], environment: [String: String]) throws -> ServedProcess {
        let process = Process()
        process.executableURL = PolicyCLITests.executable
        process.arguments = [
            "serve", "--stripe", "emulator", "--chittyid", "emulator", "--stripe-emulator-port", "0",
            "--port", String(port), "--policy-dir", policyDirectory, "--database-url", ServeCLITests.temporaryDatabaseURL(),
        ] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return ServedProcess(process: process, output: output, port: port)
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

    /// SIGTERM, then everything it wrote.
    func stop() -> String {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
