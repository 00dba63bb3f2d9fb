import ChittyCharge
import ChittyChargeServer
import Foundation
import Testing

@Suite("Authentication, CORS and rate limits end to end")
struct MiddlewareTests {
    @Test func missingOrWrongTokenIs401WithTheCompatibleBody() async throws {
        try await ServerHarness.run { harness in
            var anonymous = harness.api
            anonymous.token = nil
            let missing = try await anonymous.call(.GET, "/api/holds")
            #expect(missing.status == 401)
            #expect(missing.json["error"] == "Unauthorized")
            var wrong = harness.api
            wrong.token = ServerHarness.token + "x"
            #expect(try await wrong.createHold(["amount": 5_000, "description": "x"]).status == 401)
            #expect(await harness.emulator.calls().isEmpty)
            // Header names are case-insensitive.
            let lower = try await harness.api.send(.GET, "/api/holds", headers: ["chittyid-token": ServerHarness.token])
            #expect(lower.status == 200)
            // Health needs no token.
            #expect(try await anonymous.send(.GET, "/health").status == 200)
        }
    }

    @Test func namedClientTokensAuthenticateAsTheirName() async throws {
        try await ServerHarness.run { harness in
            var partner = harness.api
            partner.token = ServerHarness.partnerToken
            let reply = try await partner.createHold(["amount": 5_000, "description": "x"])
            #expect(reply.status == 201)
            let id = try #require(reply.json["id"]?.stringValue)
            #expect(try await harness.store.hold(id: id)?.client == "partner")
        }
    }

    @Test func rateLimitFollowsThePolicy() async throws {
        var options = ServerHarness.Options()
        options.rateLimit = nil // the shipped policy: 10 per 60 s per client
        try await ServerHarness.run(options) { harness in
            for index in 0..<10 {
                let reply = try await harness.api.call(.GET, "/api/holds")
                #expect(reply.status == 200)
                #expect(reply.header("RateLimit-Limit") == "10")
                #expect(reply.header("RateLimit-Remaining") == String(9 - index))
            }
            let limited = try await harness.api.call(.GET, "/api/holds")
            #expect(limited.status == 429)
            #expect(limited.json["code"] == "rate_limited")
            let retryAfter = try #require(limited.header("Retry-After").flatMap(Int.init))
            #expect((1...60).contains(retryAfter))
            #expect(limited.header("RateLimit-Remaining") == "0")
            // Another client has its own budget.
            var partner = harness.api
            partner.token = ServerHarness.partnerToken
            #expect(try await partner.call(.GET, "/api/holds").status == 200)
        }
    }

    @Test func allowedOriginIsEchoedExactly() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.GET, "/health", headers: ["Origin": "https://app.chitty.cc"])
            #expect(reply.header("Access-Control-Allow-Origin") == "https://app.chitty.cc")
            #expect(reply.header("Vary") == "Origin")
            let preflight = try await harness.api.send(.OPTIONS, "/api/holds", headers: [
                "Origin": "https://chitty.cc", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, chittyid-token",
            ])
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "https://chitty.cc")
            #expect(preflight.header("Access-Control-Allow-Methods") == "GET, POST, OPTIONS")
            #expect(preflight.header("Access-Control-Allow-Headers") == "Content-Type, ChittyID-Token, Idempotency-Key")
            // An error answer still carries CORS headers so the page can read it.
            let unauthorised = try await harness.api.send(.GET, "/api/holds", headers: ["Origin": "https://app.chitty.cc"])
            #expect(unauthorised.status == 401)
            #expect(unauthorised.header("Access-Control-Allow-Origin") == "https://app.chitty.cc")
        }
    }

    @Test(arguments: ["https://evilchitty.cc", "https://chitty.cc.evil.com", "http://app.chitty.cc", "https://app.chitty.cc:8443", "null"])
    func hostileOriginsGetNoAllowOrigin(_ origin: String) async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.call(.GET, "/api/holds", headers: ["Origin": origin])
            #expect(reply.header("Access-Control-Allow-Origin") == nil)
            let preflight = try await harness.api.send(.OPTIONS, "/api/holds", headers: ["Origin": origin, "Access-Control-Request-Method": "POST"])
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == nil)
            #expect(preflight.header("Access-Control-Allow-Methods") == nil)
        }
    }
}

@Suite("Client tokens and the rate limiter")
struct ClientAuthenticatorTests {
    @Test func clientsFileNamesClientsAndRefusesMalformedLines() throws {
        var authenticator = ClientAuthenticator()
        authenticator.addSharedToken("shared")
        try authenticator.addClients(fileContents: "# comment\n\nacme:\(sha256Hex("acme-token"))\n")
        #expect(authenticator.client(forToken: "shared") == "default")
        #expect(authenticator.client(forToken: "acme-token") == "acme")
        #expect(authenticator.client(forToken: "acme-token ") == nil)
        #expect(authenticator.client(forToken: "") == nil)
        var broken = ClientAuthenticator()
        #expect(throws: ClientAuthenticator.ConfigurationError.self) { try broken.addClients(fileContents: "acme\n") }
        #expect(throws: ClientAuthenticator.ConfigurationError.self) { try broken.addClients(fileContents: "acme:1234\n") }
        #expect(throws: ClientAuthenticator.ConfigurationError.self) {
            try broken.addClients(fileContents: "a:\(sha256Hex("1"))\na:\(sha256Hex("2"))\n")
        }
    }

    @Test func fixedWindowCountsAndResets() {
        final class Clock: @unchecked Sendable { var now = 1_000.0 }
        let clock = Clock()
        let limiter = FixedWindowRateLimiter(now: { clock.now })
        for _ in 0..<3 { #expect(limiter.record(key: "a", limit: 3, window: 60).allowed) }
        let refused = limiter.record(key: "a", limit: 3, window: 60)
        #expect(!refused.allowed)
        #expect(refused.resetAfter == 60)
        #expect(limiter.record(key: "b", limit: 3, window: 60).allowed)
        clock.now += 30
        #expect(limiter.record(key: "a", limit: 3, window: 60).resetAfter == 30)
        clock.now += 30
        let fresh = limiter.record(key: "a", limit: 3, window: 60)
        #expect(fresh.allowed)
        #expect(fresh.remaining == 2)
    }
}
