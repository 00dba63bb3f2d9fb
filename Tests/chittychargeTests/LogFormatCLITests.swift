import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `chittycharge serve` with `LOG_FORMAT`: json gives one JSON object per line, request lines
/// included; anything but text or json is refused before the server starts.
@Suite struct LogFormatCLITests {
    static func serve(port: Int = 0, _ arguments: [String] = [], environment extra: [String: String]) async throws -> ServedProcess {
        try await ServedProcess.start(port: port, arguments: arguments, environment: extra)
    }

    @Test func jsonLogsAreOneObjectPerLineWithRequestLines() async throws {
        let port = Int.random(in: 21_000..<29_000)
        let token = "json-log-test-token-4242"
        let server = try await Self.serve(port: port, environment: ["CHITTY_ID_TOKEN": token, "LOG_FORMAT": "json"])
        var metricsType: String?
        for _ in 0..<100 where metricsType == nil {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!) {
                _ = response
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/holds")!)
                request.setValue(token, forHTTPHeaderField: "ChittyID-Token")
                request.setValue("cli-trace-1", forHTTPHeaderField: "X-Request-Id")
                _ = try await URLSession.shared.data(for: request)
                let (_, scrape) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
                metricsType = (scrape as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let (status, log) = await server.stop()
        #expect(status == 0, "\(log)")
        #expect(metricsType?.hasPrefix("text/plain; version=0.0.4") == true)
        let lines = log.split(separator: "\n")
        let objects = lines.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(!lines.isEmpty)
        #expect(objects.allSatisfy { $0 != nil }, "every line is a JSON object:\n\(log)")
        let requests = objects.compactMap { $0 }.filter { $0["message"] as? String == "request" }.compactMap { $0["metadata"] as? [String: String] }
        let listed = try #require(requests.first { $0["request.id"] == "cli-trace-1" }, "\(log)")
        #expect(listed["http.route"] == "/api/holds")
        #expect(listed["http.status"] == "200")
        #expect(listed["client"] == "default")
        #expect(requests.contains { $0["http.route"] == "/metrics" })
        #expect(!log.contains(token), "the token must never be logged")
    }

    @Test(arguments: [["LOG_FORMAT": "xml"], ["LOG_FORMAT": "JSON "]])
    func anUnknownLogFormatIsRefusedAtStartup(_ environment: [String: String]) async throws {
        let (status, log) = await (try await Self.serve(environment: environment)).exit()
        #expect(status != 0)
        #expect(log.contains("LOG_FORMAT"), "\(log)")
        #expect(log.contains("'text' or 'json'"), "\(log)")
        #expect(!log.contains("listening"), "refused before serving: \(log)")
    }

    @Test func theFlagRefusesTooAndWins() async throws {
        let (status, log) = await (try await Self.serve(["--log-format", "yaml"], environment: ["LOG_FORMAT": "json"])).exit()
        #expect(status != 0)
        #expect(log.contains("got 'yaml'"), "\(log)")
    }
}
