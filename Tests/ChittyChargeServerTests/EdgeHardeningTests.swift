import ChittyCharge
import Foundation
import JSON
import Testing

/// Requests a careless or hostile client sends: strict JSON, deep metadata, broken framing,
/// slow or silent connections, and methods and paths the API does not have. Each gets a
/// clear answer (or a closed connection) and changes nothing.
@Suite("Edge hardening")
struct EdgeHardeningTests {
    static func port(_ harness: ServerHarness) throws -> Int {
        try #require(harness.api.port, "this test needs the server on a live port (overSockets)")
    }

    static func holdCount(_ harness: ServerHarness) async throws -> Int {
        try await harness.store.holds(matching: HoldFilter(limit: 1000)).count
    }

    // MARK: JSON

    @Test(arguments: [
        #"{"amount":5000,"amount":6000,"description":"Deposit"}"#,
        #"{"amount":5000,"description":"Deposit",}"#,
        #"{"amount":5000,"description":"Deposit","metadata":{"nights":[1,2,]}}"#,
        #"{"amount":5000,"description":"Deposit","metadata":{"a":1,"a":2}}"#,
    ])
    func duplicateKeysAndTrailingCommasAreRefused(_ body: String) async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(
                .POST, "/api/holds", headers: ["ChittyID-Token": ServerHarness.token, "Content-Type": "application/json"], body: Data(body.utf8))
            #expect(reply.status == 400, "\(body) → \(reply.text)")
            #expect(reply.json["code"] == "invalid_request")
            #expect(reply.json["error"]?.stringValue?.contains("not valid JSON") == true, "\(reply.text)")
            #expect(try await Self.holdCount(harness) == 0)
            #expect(await harness.emulator.calls().isEmpty, "nothing reached Stripe")
        }
    }

    @Test func aCaptureBodyWithARepeatedKeyIsRefused() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold(amount: 20_000)
            let reply = try await harness.api.send(
                .POST, "/api/holds/\(id)/capture", headers: ["ChittyID-Token": ServerHarness.token, "Content-Type": "application/json"],
                body: Data(#"{"amount_to_capture":100,"amount_to_capture":20000}"#.utf8))
            #expect(reply.status == 400, "\(reply.text)")
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").isEmpty)
        }
    }

    static func nested(_ depth: Int) -> JSONValue {
        var value: JSONValue = "bottom"
        for _ in 0..<depth { value = ["next": value] }
        return value
    }

    @Test func metadataNestedTooDeeplyIsRefusedWhole() async throws {
        try await ServerHarness.run { harness in
            // 70 levels once made other metadata fields invisible to the policy.
            let deep = try await harness.api.createHold([
                "amount": 5_000, "description": "Deposit", "metadata": ["guest_tier": "VIP", "tree": Self.nested(70)],
            ])
            #expect(deep.status == 400, "\(deep.text)")
            #expect(deep.json["details"]?["field"] == "metadata")
            #expect(deep.json["error"]?.stringValue?.contains("more than 32 levels") == true, "\(deep.text)")
            // metadata (1) + 31 levels is the most there may be.
            let deepest = try await harness.api.createHold([
                "amount": 5_000, "description": "Deposit", "metadata": ["tree": Self.nested(30)],
            ])
            #expect(deepest.status == 201, "\(deepest.text)")
            #expect(try await Self.holdCount(harness) == 1)
        }
    }

    // MARK: Listing

    @Test func aFullPageOfAHundredSaysMoreFollow() async throws {
        try await ServerHarness.run { harness in
            for index in 0..<101 {
                let reply = try await harness.api.createHold(["amount": .integer(Int64(1_000 + index)), "description": "Deposit"])
                #expect(reply.status == 201)
            }
            let first = try await harness.api.call(.GET, "/api/holds?limit=100")
            #expect(first.json["data"]?.arrayItems?.count == 100)
            #expect(first.json["has_more"] == true, "a 101st hold exists")
            let cursor = try #require(first.json["next_starting_after"]?.stringValue)
            let second = try await harness.api.call(.GET, "/api/holds?limit=100&starting_after=\(cursor)")
            #expect(second.json["data"]?.arrayItems?.count == 1)
            #expect(second.json["has_more"] == false)
        }
    }

    // MARK: Framing

    @Test(arguments: ["/api/holds", "/webhook"])
    func aBrokenChunkedBodyIs400(_ path: String) async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true)) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("POST \(path) HTTP/1.1\r\nHost: localhost\r\nChittyID-Token: \(ServerHarness.token)\r\n"
                + "Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")
            let answer = try #require(await connection.readUntilClosed(timeout: 10))
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("\"code\":\"invalid_request\""), "\(answer)")
            let scrape = try await MetricsTests.scrape(harness)
            #expect(scrape.value("chittycharge_http_requests_total", ["method": "POST", "route": path, "status_class": "5xx"]) == 0)
            #expect(scrape.value("chittycharge_http_requests_total", ["method": "POST", "route": path, "status_class": "4xx"]) == 1)
            #expect(try await Self.holdCount(harness) == 0)
        }
    }

    @Test func anUploadCutOffMidwayIs400() async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true)) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("POST /api/holds HTTP/1.1\r\nHost: localhost\r\nChittyID-Token: \(ServerHarness.token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\": 50")
            connection.shutdownWriting()
            let answer = try #require(await connection.readUntilClosed(timeout: 10))
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            let scrape = try await MetricsTests.scrape(harness)
            #expect(scrape.value("chittycharge_http_requests_total", ["method": "POST", "route": "/api/holds", "status_class": "5xx"]) == 0)
            #expect(try await Self.holdCount(harness) == 0)
        }
    }

    // MARK: Slow and silent clients

    @Test func aHalfSentHeadIsClosedAfterTheRequestTimeout() async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true, requestTimeout: .seconds(1), idleTimeout: .seconds(60))) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("GET /health HTTP/1.1\r\nHost: loc")
            #expect(await connection.readUntilClosed(timeout: 10) != nil, "the connection is still open")
        }
    }

    @Test func aTrickledHeadIsClosedEvenThoughBytesKeepComing() async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true, requestTimeout: .seconds(1), idleTimeout: .seconds(60))) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("GET /health HTTP/1.1\r\n")
            var closed = false
            for index in 0..<40 where !closed {
                connection.send("X-Slow-\(index): 1\r\n")
                closed = await connection.readUntilClosed(timeout: 0.25) != nil
            }
            #expect(closed, "a header line every 250 ms kept the connection open for 10 s")
        }
    }

    @Test func aRequestThatArrivesInPiecesWithinTheTimeoutIsServed() async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true, requestTimeout: .seconds(10), idleTimeout: .seconds(60))) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("GET /health HTTP/1.1\r\nHost: loc")
            try await Task.sleep(for: .milliseconds(300))
            connection.send("alhost\r\nConnection: close\r\n\r\n")
            let answer = try #require(await connection.readUntilClosed(timeout: 10))
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
        }
    }

    /// The arrival clock is one pending check per connection, not a timer per request: a
    /// later request on a kept-alive connection still gets its whole timeout from its own
    /// first byte, and is still closed when that runs out.
    @Test func aLaterRequestOnAKeptAliveConnectionHasItsOwnClock() async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true, requestTimeout: .seconds(2), idleTimeout: .seconds(60))) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            // The first request is answered; its check stays pending until 2 s.
            #expect(await connection.readUntilClosed(timeout: 1.2) == nil, "the kept-alive connection was closed")
            connection.send("GET /health HTTP/1.1\r\nHost: loc")
            // At 2 s the second request has had 0.8 s of its 2: it stays open past then…
            #expect(await connection.readUntilClosed(timeout: 1.4) == nil, "closed on the first request's clock")
            // …and is closed when its own 2 s are up.
            #expect(await connection.readUntilClosed(timeout: 10) != nil, "the half-sent second request is still open")
        }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await ServerHarness.run(ServerHarness.Options(overSockets: true, requestTimeout: .seconds(30), idleTimeout: .seconds(1))) { harness in
            let connection = try RawHTTPConnection(port: try Self.port(harness))
            connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            // The answer, then the close once the connection has been idle for a second.
            let answer = try #require(await connection.readUntilClosed(timeout: 10), "the idle connection is still open")
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            let silent = try RawHTTPConnection(port: try Self.port(harness))
            #expect(await silent.readUntilClosed(timeout: 10) != nil, "a connection that never sent a byte is still open")
        }
    }

    // MARK: Methods

    @Test func optionsNamesEachPathsOwnMethods() async throws {
        try await ServerHarness.run { harness in
            let cases: [(path: String, allow: String)] = [
                ("/health", "GET, OPTIONS"),
                ("/api/holds", "GET, POST, OPTIONS"),
                ("/api/holds/pi_123/capture", "POST, OPTIONS"),
                ("/api/holds/pi_123", "GET, OPTIONS"),
                ("/api/holds/by-chitty-id/CHITTY-1", "GET, OPTIONS"),
                ("/webhook", "POST, OPTIONS"),
            ]
            for (path, allow) in cases {
                let plain = try await harness.api.send(.OPTIONS, path)
                #expect(plain.status == 204, "\(path)")
                #expect(plain.header("Allow") == allow, "\(path)")
                let preflight = try await harness.api.send(.OPTIONS, path, headers: ["Origin": "https://chitty.cc", "Access-Control-Request-Method": "POST"])
                #expect(preflight.header("Access-Control-Allow-Methods") == allow, "\(path)")
            }
            let unknown = try await harness.api.send(.OPTIONS, "/api/nothing-here")
            #expect(unknown.status == 404)
            #expect(unknown.json["code"] == "route_not_found")
        }
    }

    @Test(arguments: ["/api/holds", "/health", "/api/holds/pi_1"])
    func traceIsMethodNotAllowed(_ path: String) async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.call(.TRACE, path)
            #expect(reply.status == 405, "\(reply.text)")
            #expect(reply.json["code"] == "method_not_allowed")
            #expect(reply.header("Allow")?.hasSuffix("OPTIONS") == true)
        }
    }
}
