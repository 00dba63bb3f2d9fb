import ChittyCharge
import Foundation
import Logging
import Testing

/// `GET /metrics` over a real socket: Prometheus' text format, and series that move as
/// requests, refusals, rate limits, captures, releases and webhooks happen. Route labels are
/// the router's templates, never a raw path.
@Suite("/metrics")
struct MetricsTests {
    /// One scrape, parsed: each sample by metric name and label set.
    struct Scrape {
        var text: String
        var samples: [(name: String, labels: [String: String], value: Double)]

        init(_ text: String) {
            self.text = text
            samples = text.split(separator: "\n").compactMap { Self.sample(String($0)) }
        }

        /// The sample with exactly these labels (0 when absent: a counter not yet touched).
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
            samples.first { $0.name == name && $0.labels == labels }?.value ?? 0
        }

        /// `name{a="x",b="y"} 1.0`, with `\"`, `\\` and `\n` escapes in label values.
        static func sample(_ line: String) -> (name: String, labels: [String: String], value: Double)? {
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                return nil
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
            var labels: [String: String] = [:]
            var rest = series[series.index(after: brace)...].dropLast() // without the closing brace
            while let equals = rest.firstIndex(of: "=") {
                let key = String(rest[..<equals])
                var index = rest.index(equals, offsetBy: 2) // past ="
                var text = ""
                while rest[index] != "\"" {
                    if rest[index] == "\\" {
                        index = rest.index(after: index)
                        text.append(rest[index] == "n" ? "\n" : rest[index])
                    } else {
                        text.append(rest[index])
                    }
                    index = rest.index(after: index)
                }
                labels[key] = text
                rest = rest[rest.index(after: index)...].drop { $0 == "," }
            }
            return (String(series[..<brace]), labels, value)
        }
    }

    static func scrape(_ harness: ServerHarness) async throws -> Scrape {
        let reply = try await harness.api.with(token: nil).send(.GET, "/metrics")
        #expect(reply.status == 200, "\(reply.text)")
        return Scrape(reply.text)
    }

    @Test func knownSeriesAreExportedAtZeroBeforeTheirFirstEvent() async throws {
        try await ServerHarness.run { harness in
            let first = try await Self.scrape(harness)
            func exists(_ name: String, _ labels: [String: String]) -> Bool {
                first.samples.contains { $0.name == name && $0.labels == labels && $0.value == 0 }
            }
            #expect(exists("chittycharge_webhook_events_total", ["type": "payment_intent.succeeded", "outcome": "applied"]), "\(first.text)")
            #expect(exists("chittycharge_webhook_events_total", ["type": "unverified", "outcome": "bad_signature"]))
            #expect(exists("chittycharge_rate_limited_total", ["client": "partner"]))
            #expect(exists("chittycharge_rate_limited_total", ["client": "default"]))
            #expect(exists("chittycharge_hold_placements_total", ["outcome": "declined"]))
            #expect(exists("chittycharge_hold_operations_total", ["operation": "capture", "trigger": "scheduler", "outcome": "succeeded"]))
            #expect(exists("chittycharge_hold_operations_total", ["operation": "release", "trigger": "api", "outcome": "stripe_unavailable"]))
        }
    }

    static let requests = "chittycharge_http_requests_total"

    @Test func servesPrometheusTextWithoutAToken() async throws {
        try await ServerHarness.run { harness in
            _ = try await harness.api.send(.GET, "/health")
            let reply = try await harness.api.with(token: nil).send(.GET, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true, "\(reply.headers)")
            #expect(reply.text.contains("# TYPE \(Self.requests) counter"))
            #expect(reply.text.contains("# TYPE chittycharge_http_request_duration_seconds histogram"))
            let scrape = Scrape(reply.text)
            #expect(scrape.value(Self.requests, ["method": "GET", "route": "/health", "status_class": "2xx"]) == 1)
            let wrongMethod = try await harness.api.with(token: nil).send(.POST, "/metrics")
            #expect(wrongMethod.status == 405)
        }
    }

    @Test func requestsAreCountedAndTimedByRouteTemplate() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.api.createHold(["amount": 15_000, "description": "Deposit"])
            let id = try #require(created.json["id"]?.stringValue)
            let before = try await Self.scrape(harness)
            let showOK: [String: String] = ["method": "GET", "route": "/api/holds/{id}", "status_class": "2xx"]
            let showMissing: [String: String] = ["method": "GET", "route": "/api/holds/{id}", "status_class": "4xx"]
            #expect(before.value(Self.requests, showOK) == 0)
            #expect(before.value(Self.requests, ["method": "POST", "route": "/api/holds", "status_class": "2xx"]) == 1)

            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").status == 200)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").status == 200)
            #expect(try await harness.api.call(.GET, "/api/holds/pi_missing_1").status == 404)
            #expect(try await harness.api.send(.GET, "/no/such/route/\(UUID().uuidString)").status == 404)
            #expect(try await harness.api.send(.GET, "/another/unknown").status == 404)

            let after = try await Self.scrape(harness)
            #expect(after.value(Self.requests, showOK) == 2)
            #expect(after.value(Self.requests, showMissing) == 1)
            #expect(after.value(Self.requests, ["method": "GET", "route": "unmatched", "status_class": "4xx"]) == 2)
            #expect(after.value("chittycharge_http_request_duration_seconds_count", ["method": "GET", "route": "/api/holds/{id}"]) == 3)
            // No raw path, hold id or unknown path became a label.
            #expect(!after.text.contains(id))
            #expect(!after.text.contains("pi_missing_1"))
            #expect(!after.text.contains("/no/such/route"))
        }
    }

    @Test func placementsAreCountedByOutcome() async throws {
        try await ServerHarness.run { harness in
            let placements = "chittycharge_hold_placements_total"
            #expect(try await harness.api.createHold(["amount": 15_000, "description": "Deposit"], headers: ["Idempotency-Key": "k-1"]).status == 201)
            #expect(try await harness.api.createHold(["amount": 15_000, "description": "Deposit"], headers: ["Idempotency-Key": "k-1"]).status == 201)
            let refused = try await harness.api.createHold(["amount": 300_000, "description": "Too much", "metadata": ["guest_tier": "NEW_GUEST"]])
            #expect(refused.status == 400, "\(refused.text)")
            let scrape = try await Self.scrape(harness)
            #expect(scrape.value(placements, ["outcome": "placed"]) == 1)
            #expect(scrape.value(placements, ["outcome": "replayed"]) == 1)
            #expect(scrape.value(placements, ["outcome": "refused"]) == 1)
            #expect(scrape.value(placements, ["outcome": "declined"]) == 0)
        }
    }

    /// Lua evaluations are counted in batches per state; a scrape adds what idle states
    /// still hold, so a quiet server's few evaluations are not missing.
    @Test func policyEvaluationsShowAtOnceOnAQuietServer() async throws {
        try await ServerHarness.run { harness in
            let evaluations = "chittycharge_policy_evaluations_total"
            let before = try await Self.scrape(harness).value(evaluations, ["hook": "hold_limit", "outcome": "policy"])
            for _ in 0..<3 {
                #expect(try await harness.api.createHold(["amount": 15_000, "description": "Deposit"]).status == 201)
            }
            let after = try await Self.scrape(harness)
            #expect(after.value(evaluations, ["hook": "hold_limit", "outcome": "policy"]) == before + 3)
            #expect(after.value("chittycharge_policy_evaluation_duration_seconds_count", ["hook": "hold_limit"]) >= 0)
        }
    }

    @Test func capturesAndReleasesAreCountedByOutcome() async throws {
        try await ServerHarness.run { harness in
            let operations = "chittycharge_hold_operations_total"
            let captured = try await harness.authorisedHold(amount: 20_000)
            #expect(try await harness.api.call(.POST, "/api/holds/\(captured)/capture", json: ["amount_to_capture": 5_000]).status == 200)
            #expect(try await harness.api.call(.POST, "/api/holds/\(captured)/capture", json: ["amount_to_capture": 6_000]).status == 409)
            let released = try await harness.authorisedHold(amount: 20_000)
            #expect(try await harness.api.call(.POST, "/api/holds/\(released)/cancel").status == 200)
            #expect(try await harness.api.call(.POST, "/api/holds/pi_missing_2/cancel").status == 404)

            let scrape = try await Self.scrape(harness)
            #expect(scrape.value(operations, ["operation": "capture", "trigger": "api", "outcome": "succeeded"]) == 1)
            #expect(scrape.value(operations, ["operation": "capture", "trigger": "api", "outcome": "conflict"]) == 1)
            #expect(scrape.value(operations, ["operation": "release", "trigger": "api", "outcome": "succeeded"]) == 1)
            #expect(scrape.value(operations, ["operation": "release", "trigger": "api", "outcome": "not_found"]) == 1)
        }
    }

    @Test func rateLimitRejectionsAreCountedByClient() async throws {
        var options = ServerHarness.Options()
        options.rateLimit = 2
        try await ServerHarness.run(options) { harness in
            for _ in 0..<3 { _ = try await harness.api.call(.GET, "/api/holds") }
            let partner = harness.api.with(token: ServerHarness.partnerToken)
            #expect(try await partner.call(.GET, "/api/holds").status == 200)
            let scrape = try await Self.scrape(harness)
            #expect(scrape.value("chittycharge_rate_limited_total", ["client": "default"]) == 1)
            #expect(scrape.value("chittycharge_rate_limited_total", ["client": "partner"]) == 0)
            #expect(scrape.value(Self.requests, ["method": "GET", "route": "/api/holds", "status_class": "4xx"]) == 1)
        }
    }

    @Test func webhooksAreCountedByTypeAndOutcome() async throws {
        try await ServerHarness.run { harness in
            let events = "chittycharge_webhook_events_total"
            let now = Int64(Date().timeIntervalSince1970)
            let foreign = Data(#"{"id":"evt_m1","type":"payment_intent.succeeded","created":\#(now),"data":{"object":{"id":"pi_not_ours","object":"payment_intent","status":"succeeded"}}}"#.utf8)
            #expect(try await harness.postWebhook(foreign).status == 200)
            #expect(try await harness.postWebhook(foreign).status == 200)
            #expect(try await harness.postWebhook(foreign, signature: "t=\(now),v1=\(String(repeating: "0", count: 64))").status == 400)
            let customer = Data(#"{"id":"evt_m2","type":"customer.created","created":\#(now),"data":{"object":{"id":"cus_1","object":"customer"}}}"#.utf8)
            #expect(try await harness.postWebhook(customer).status == 200)

            let scrape = try await Self.scrape(harness)
            #expect(scrape.value(events, ["type": "payment_intent.succeeded", "outcome": "unknown_hold"]) == 1)
            #expect(scrape.value(events, ["type": "payment_intent.succeeded", "outcome": "duplicate"]) == 1)
            #expect(scrape.value(events, ["type": "unverified", "outcome": "bad_signature"]) == 1)
            // Types we do not ask Stripe for share one label.
            #expect(scrape.value(events, ["type": "other", "outcome": "unknown_hold"]) == 1)
        }
    }

    @Test func storeGaugesAreReadAtEachScrape() async throws {
        try await ServerHarness.run { harness in
            let empty = try await Self.scrape(harness)
            #expect(empty.samples.contains { $0.name == "chittycharge_scheduled_actions_due" && $0.value == 0 })
            #expect(empty.value("chittycharge_chittyid_outbox_depth") == 0)

            // A capturable hold with an action ten minutes overdue (the scheduler is not
            // running here), one with nothing scheduled, and one whose ChittyID is pending.
            let overdue = try await harness.authorisedHold()
            let unscheduled = try await harness.authorisedHold()
            for id in [overdue, unscheduled] {
                let hold = try await harness.holds.queries.hold(id: id, refresh: true, access: .everyHold, logger: ServerHarness.quietLogger)
                try #require(hold.status == .requiresCapture && hold.captureBefore != nil, "hold \(id) is not capturable: \(hold)")
                try await harness.store.setScheduledAction(nil, holdID: id)
            }
            try await harness.store.setScheduledAction(
                ScheduledAction(kind: .release, at: Date().addingTimeInterval(-600), amount: nil, revision: harness.policies.revision.id),
                holdID: overdue)
            harness.minter.setFailing(true)
            #expect(try await harness.api.createHold(["amount": 5_000, "description": "No ChittyID yet"]).status == 201)

            let scrape = try await Self.scrape(harness)
            #expect(scrape.value("chittycharge_scheduled_actions_due") == 1)
            #expect(scrape.value("chittycharge_scheduled_actions_overdue") == 1)
            #expect(scrape.value("chittycharge_flagged_holds", ["reason": "no_action_before_expiry"]) == 1)
            #expect(scrape.value("chittycharge_chittyid_outbox_depth") == 1)
        }
    }
}
