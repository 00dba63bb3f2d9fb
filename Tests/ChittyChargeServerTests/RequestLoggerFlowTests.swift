@testable import ChittyChargeServer
import Foundation
import Logging
import Testing

/// The request's logger reaches the hold service: a line the service writes while
/// answering a request carries that request's `request.id` and `client`, and the hold's id.
@Suite struct RequestLoggerFlowTests {
    @Test func serviceLinesAboutAHoldCarryTheRequestIDAndClient() async throws {
        let captured = JSONLogHandlerTests.CapturedLines()
        var options = ServerHarness.Options()
        options.logger = Logger(label: "chittycharge.http") { JSONLogHandler(label: $0, output: captured.output, metadataProvider: nil) }
        try await ServerHarness.run(options) { harness in
            let created = try await harness.api.createHold(["amount": 12_000, "description": "Deposit"], headers: ["X-Request-Id": "place-trace-1"])
            #expect(created.header("X-Request-Id") == "place-trace-1")
            let id = try #require(created.json["id"]?.stringValue)
            let canceled = try await harness.api.call(.POST, "/api/holds/\(id)/cancel", headers: ["X-Request-Id": "cancel-trace-2"])
            #expect(canceled.status == 200, "\(canceled.text)")
            #expect(canceled.header("X-Request-Id") == "cancel-trace-2")

            let lines = captured.objects.compactMap { $0 }
            func metadata(of message: String) -> [String: String]? {
                lines.first { $0["message"] as? String == message }?["metadata"] as? [String: String]
            }
            let placed = try #require(metadata(of: "hold placed"), "\(captured.text)")
            #expect(placed["request.id"] == "place-trace-1")
            #expect(placed["client"] == "default")
            #expect(placed["hold.id"] == id)
            let released = try #require(metadata(of: "hold released"), "\(captured.text)")
            #expect(released["request.id"] == "cancel-trace-2")
            #expect(released["client"] == "default")
            #expect(released["hold.id"] == id)
        }
    }
}
