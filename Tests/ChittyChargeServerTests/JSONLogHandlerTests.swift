@testable import ChittyChargeServer
import Foundation
import Logging
import Synchronization
import Testing

/// `LOG_FORMAT=json`: every line one valid JSON object, whatever the message and metadata
/// hold; and the request line the server writes for each request, without any token.
@Suite struct JSONLogHandlerTests {
    /// Collects what a handler writes.
    final class CapturedLines: Sendable {
        private let chunks = Mutex<[String]>([])
        var output: LogOutput { LogOutput { bytes in self.chunks.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } } }
        var text: String { chunks.withLock { $0.joined() } }
        /// Each line parsed as a JSON object (nil for a line that is not one).
        var objects: [[String: Any]?] {
            text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
        }
    }

    @Test func quotesNewlinesAndControlCharactersAreEscaped() throws {
        let captured = CapturedLines()
        var logger = Logger(label: "test.json") { JSONLogHandler(label: $0, output: captured.output, metadataProvider: nil) }
        logger[metadataKey: "request.id"] = "req-1"
        let tricky = "say \"hi\"\\ then\nnew line\r\ttab \u{01}\u{1F}\u{7F} é ✓"
        logger.warning("\(tricky)", metadata: [
            "quote\"key": .string(tricky),
            "count": .stringConvertible(42),
            "nested": .dictionary(["a": "b"]),
            "list": .array(["x", "y"]),
        ])
        let text = captured.text
        #expect(text.hasSuffix("}\n"))
        #expect(text.filter { $0 == "\n" }.count == 1, "one line, its newlines escaped: \(text)")
        let object = try #require(captured.objects.first ?? nil, "not JSON: \(text)")
        #expect(object["message"] as? String == tricky)
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "test.json")
        #expect(object["source"] as? String == "ChittyChargeServerTests")
        let metadata = try #require(object["metadata"] as? [String: String], "metadata values are strings: \(text)")
        #expect(metadata["request.id"] == "req-1")
        #expect(metadata["quote\"key"] == tricky)
        #expect(metadata["count"] == "42")
        #expect(metadata["nested"] == Logger.MetadataValue.dictionary(["a": "b"]).description)
        #expect(metadata["list"] == Logger.MetadataValue.array(["x", "y"]).description)
        #expect(!text.contains("\u{01}") && !text.contains("\u{7F}"), "control characters appear only escaped")
        #expect(text.contains(#"\u0001"#))
    }

    @Test func timestampsAreISO8601UTCToTheMillisecond() throws {
        #expect(JSONLogHandler.timestamp(timespec(tv_sec: 0, tv_nsec: 5_000_000)) == "1970-01-01T00:00:00.005Z")
        #expect(JSONLogHandler.timestamp(timespec(tv_sec: 1_795_000_000, tv_nsec: 999_999_999)) == "2026-11-18T11:06:40.999Z")
        let captured = CapturedLines()
        let logger = Logger(label: "t") { JSONLogHandler(label: $0, output: captured.output, metadataProvider: nil) }
        let before = Date()
        logger.info("now")
        let stamp = try #require(captured.objects.first??["timestamp"] as? String)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(formatter.date(from: stamp), "\(stamp) is not ISO-8601")
        #expect(abs(parsed.timeIntervalSince(before)) < 60)
        #expect(stamp.hasSuffix("Z"))
    }

    /// The default format: StreamLogHandler's layout, built in one buffer.
    @Test func theTextFormatIsOneLineWithSortedMetadataAndUTCTime() throws {
        let line = String(decoding: TextLogHandler.line(
            at: timespec(tv_sec: 1_795_000_000, tv_nsec: 5_000_000), level: .warning, label: "chittycharge.http",
            message: "two\nlines", fields: [("a", .array(["x"])), ("b", .stringConvertible(42)), ("request.id", "r-1"), ("why", "bad\r\nvalue")],
            source: "ChittyChargeServer"), as: UTF8.self)
        #expect(line == #"2026-11-18T11:06:40.005Z warning chittycharge.http: a=["x"] b=42 request.id=r-1 why=bad\r\nvalue [ChittyChargeServer] two\nlines"# + "\n")

        let captured = CapturedLines()
        var logger = Logger(label: "t") { TextLogHandler(label: $0, output: captured.output, metadataProvider: Logger.MetadataProvider { ["trace.id": "t-9"] }) }
        logger.logLevel = .notice
        logger[metadataKey: "request.id"] = "req-1"
        logger.info("dropped")
        logger.error("kept", metadata: ["trace.id": "explicit wins"], source: "S")
        #expect(captured.text.hasSuffix("Z error t: request.id=req-1 trace.id=explicit wins [S] kept\n"), "\(captured.text)")
        #expect(captured.text.filter { $0 == "\n" }.count == 1)
    }

    /// Later sources win: the handler's metadata, the provider's, the event's, its error.
    @Test func fieldsKeepTheirPrecedenceAndComeSorted() {
        struct Refused: Error, CustomStringConvertible { var description: String { "card refused" } }
        let event = LogEvent(level: .error, message: "m", error: Refused(),
                             metadata: ["b": "event", "c": "event", "error.message": "event"],
                             source: "S", file: #fileID, function: #function, line: #line)
        let fields = JSONLogHandler.fields(["a": "handler", "b": "handler", "d": "handler"],
                                           provider: Logger.MetadataProvider { ["c": "provider", "d": "provider", "e": "provider"] }, event: event)
        #expect(fields.map(\.key) == ["a", "b", "c", "d", "e", "error.message", "error.type"])
        #expect(fields.map(\.value.description) == ["handler", "event", "event", "provider", "provider", "card refused", String(reflecting: Refused.self)])
    }

    @Test func levelsBelowTheHandlersAreDroppedAndProvidersAdd() throws {
        let captured = CapturedLines()
        let provider = Logger.MetadataProvider { ["trace.id": "t-9"] }
        var logger = Logger(label: "t") { JSONLogHandler(label: $0, output: captured.output, metadataProvider: provider) }
        logger.logLevel = .notice
        logger.info("dropped")
        logger.error("kept", metadata: ["trace.id": "explicit wins"])
        let objects = captured.objects.compactMap { $0 }
        #expect(objects.count == 1)
        #expect(objects.first?["message"] as? String == "kept")
        #expect((objects.first?["metadata"] as? [String: String])?["trace.id"] == "explicit wins")
    }

    @Test func concurrentLinesNeverInterleave() async throws {
        let captured = CapturedLines()
        let logger = Logger(label: "t") { JSONLogHandler(label: $0, output: captured.output, metadataProvider: nil) }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for line in 0..<200 { logger.info("line \(line) of task \(task)", metadata: ["payload": .string(String(repeating: "x", count: 300))]) }
                }
            }
        }
        let objects = captured.objects
        #expect(objects.count == 1_600)
        #expect(objects.allSatisfy { $0 != nil })
    }

    @Test func eachRequestIsOneJSONLineWithRouteClientHoldAndRevisionButNoToken() async throws {
        let captured = CapturedLines()
        var options = ServerHarness.Options()
        options.logger = Logger(label: "chittycharge.http") { JSONLogHandler(label: $0, output: captured.output, metadataProvider: nil) }
        try await ServerHarness.run(options) { harness in
            let created = try await harness.api.createHold(["amount": 12_000, "description": "Deposit"])
            let id = try #require(created.json["id"]?.stringValue)
            let shown = try await harness.api.call(.GET, "/api/holds/\(id)", headers: ["X-Request-Id": "trace-abc-123"])
            #expect(shown.status == 200)
            #expect(shown.header("X-Request-Id") == "trace-abc-123")
            let forged = try await harness.api.call(.GET, "/api/holds/\(id)", headers: ["X-Request-Id": "two words"])
            let replaced = try #require(forged.header("X-Request-Id"))
            #expect(replaced != "two words" && !replaced.isEmpty)
            #expect(try await harness.api.with(token: "wrong-token-xyz").call(.GET, "/api/holds/\(id)").status == 401)

            let requests = captured.objects.compactMap { $0 }.filter { $0["message"] as? String == "request" }
            let lines = requests.compactMap { $0["metadata"] as? [String: String] }
            #expect(lines.count == requests.count)
            let traced = try #require(lines.first { $0["request.id"] == "trace-abc-123" }, "\(captured.text)")
            #expect(traced["http.method"] == "GET")
            #expect(traced["http.route"] == "/api/holds/{id}")
            #expect(traced["http.status"] == "200")
            #expect(traced["client"] == "default")
            #expect(traced["hold.id"] == id)
            #expect(traced["policy.revision"] == harness.policies.revision.id)
            #expect(Double(traced["duration_ms"] ?? "") != nil)
            #expect(lines.contains { $0["request.id"] == replaced })
            let unauthorised = try #require(lines.first { $0["http.status"] == "401" })
            #expect(unauthorised["client"] == nil)
            #expect(lines.contains { $0["http.route"] == "/api/holds" && $0["http.status"] == "201" })
            #expect(!captured.text.contains(ServerHarness.token))
            #expect(!captured.text.contains("wrong-token-xyz"))
        }
    }
}
