import ChittyChargeTestSupport
import Foundation
import Testing

/// Every guarantee of one instance, held by two or three `serve` processes on one
/// PostgreSQL database against one Stripe emulator.
@Suite("Several instances on one PostgreSQL", .serialized)
struct SeveralInstancesTests {
    private func withCluster(_ count: Int = 2, rateLimit: Int = 1_000, environment: [String: String] = [:],
                             _ body: (inout InstanceCluster) async throws -> Void) async throws {
        try await TestPostgres.withFreshDatabase { url in
            var cluster = try await InstanceCluster.start(count: count, databaseURL: url, rateLimit: rateLimit, environment: environment)
            do {
                try await body(&cluster)
            } catch {
                let logs = await cluster.stop()
                let text = String(logs.joined(separator: "\n----\n").suffix(6_000))
                Issue.record("instance logs:\n\(text)")
                throw error
            }
            _ = await cluster.stop()
        }
    }

    @Test func oneIdempotencyKeySentToEveryInstanceAtOnceMakesOnePaymentIntent() async throws {
        try await withCluster(3) { cluster in
            let key = "booking-\(UUID())"
            let answers = try await withThrowingTaskGroup(of: InstanceCluster.Answer.self) { group in
                for index in 0..<12 {
                    group.addTask { [cluster] in
                        try await cluster.api(index % 3, "POST", "/api/holds", json: ["amount": 15_000, "description": "Security deposit", "property_id": "prop_1"],
                                              headers: ["Idempotency-Key": key])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let holds = Set(answers.filter { (200..<300).contains($0.status) }.compactMap { $0.body["id"] as? String })
            #expect(holds.count == 1, "every caller that got a hold got the same one: \(holds)")
            for answer in answers where !(200..<300).contains(answer.status) {
                #expect(answer.status == 409 && answer.code == "operation_in_progress" && answer.headers["retry-after"] != nil,
                        "\(answer.status) \(answer.string)")
            }
            #expect(try await cluster.executedStripeCalls("POST", pathSuffix: "/v1/payment_intents").count == 1,
                    "one PaymentIntent created at Stripe")
        }
    }

    @Test func twentyCapturesSpreadOverTwoInstancesCaptureOnce() async throws {
        try await withCluster { cluster in
            let hold = try await cluster.placeHold(on: 0)
            try await cluster.confirmAtStripe(hold)
            let answers = try await withThrowingTaskGroup(of: InstanceCluster.Answer.self) { group in
                for index in 0..<20 {
                    group.addTask { [cluster] in try await cluster.api(index % 2, "POST", "/api/holds/\(hold)/capture", json: ["amount_to_capture": 5_000]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let captured = answers.filter { $0.status == 200 }
            #expect(!captured.isEmpty)
            #expect(Set(captured.map { $0.body["amount_captured"] as? Int }) == [5_000], "every caller got the first answer")
            for answer in answers where answer.status != 200 {
                #expect(answer.status == 409 && answer.code == "operation_in_progress", "\(answer.status) \(answer.string)")
            }
            #expect(try await cluster.executedStripeCalls("POST", pathSuffix: "/\(hold)/capture").count == 1, "one capture at Stripe")
        }
    }

    @Test func aCaptureRacingACancelOnAnotherInstanceReachesStripeOnce() async throws {
        try await withCluster { cluster in
            let hold = try await cluster.placeHold(on: 0)
            try await cluster.confirmAtStripe(hold)
            async let capture = cluster.api(0, "POST", "/api/holds/\(hold)/capture", json: [:])
            async let cancel = cluster.api(1, "POST", "/api/holds/\(hold)/cancel", json: [:])
            let answers = try await [capture, cancel]
            #expect(answers.filter { $0.status == 200 }.count == 1, "\(answers.map { "\($0.status) \($0.string)" })")
            #expect(answers.filter { $0.status == 409 }.count == 1)
            let captures = try await cluster.executedStripeCalls("POST", pathSuffix: "/\(hold)/capture").count
            let cancels = try await cluster.executedStripeCalls("POST", pathSuffix: "/\(hold)/cancel").count
            #expect(captures + cancels == 1, "captures \(captures), cancels \(cancels)")
        }
    }

    @Test func aHoldChangedThroughOneInstanceReadsTheSameOnTheOtherAtOnce() async throws {
        try await withCluster { cluster in
            let hold = try await cluster.placeHold(on: 0)
            try await cluster.confirmAtStripe(hold)
            let before = try await cluster.api(1, "GET", "/api/holds/\(hold)")
            #expect(before.status == 200)
            let capture = try await cluster.api(0, "POST", "/api/holds/\(hold)/capture", json: ["amount_to_capture": 7_500])
            #expect(capture.status == 200, "\(capture.string)")
            let after = try await cluster.api(1, "GET", "/api/holds/\(hold)")
            #expect(after.body["status"] as? String == "succeeded", "\(after.string)")
            #expect(after.body["amount_received"] as? Int == 7_500)
            let list = try await cluster.api(1, "GET", "/api/holds?status=succeeded")
            #expect((list.body["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [hold])
        }
    }

    @Test func aPolicyReloadOnOneInstanceServesOnEveryInstanceWithinTwoSeconds() async throws {
        try await withCluster { cluster in
            let first = try await cluster.admin(1, "GET", "/admin/policies")
            let startRevision = try #require(first.body["cluster_revision"] as? String)
            // An operator edits the folder and reloads one instance.
            let policy = cluster.policyDirectory.appendingPathComponent("policy.lua")
            try (String(contentsOf: policy, encoding: .utf8) + "\n-- reloaded \(UUID())\n").write(to: policy, atomically: true, encoding: .utf8)
            let reload = try await cluster.admin(0, "POST", "/admin/policies/reload")
            #expect(reload.status == 200, "\(reload.string)")
            let newRevision = try #require(reload.body["revision"] as? String)
            #expect(newRevision != startRevision)
            let reloadedAt = ContinuousClock.now
            var seen: String?
            while ContinuousClock.now - reloadedAt < .seconds(2) {
                seen = await cluster.instances[1].health()?["policy_revision"] as? String
                if seen == newRevision { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(seen == newRevision, "the other instance serves \(seen ?? "nothing") 2 s after the reload")
            try await Task.sleep(for: .milliseconds(1_200)) // one more heartbeat each
            let status = try await cluster.admin(1, "GET", "/admin/policies")
            let instances = status.body["instances"] as? [[String: Any]] ?? []
            #expect(instances.count == 2, "\(status.string)")
            #expect(instances.allSatisfy { $0["active_revision"] as? String == newRevision }, "\(instances)")
            #expect(instances.filter { $0["this_instance"] as? Bool == true }.count == 1)
        }
    }

    @Test func aRestartedInstanceStartsOnTheClustersRevisionNotItsFolders() async throws {
        try await withCluster { cluster in
            let policy = cluster.policyDirectory.appendingPathComponent("policy.lua")
            try (String(contentsOf: policy, encoding: .utf8) + "\n-- reloaded \(UUID())\n").write(to: policy, atomically: true, encoding: .utf8)
            let reload = try await cluster.admin(0, "POST", "/admin/policies/reload")
            let clusterRevision = try #require(reload.body["revision"] as? String)
            // The folder changes again, but nobody reloads: a new instance must not switch the cluster.
            try (String(contentsOf: policy, encoding: .utf8) + "\n-- not reloaded\n").write(to: policy, atomically: true, encoding: .utf8)
            try await cluster.addInstance()
            #expect(await cluster.instances[2].health()?["policy_revision"] as? String == clusterRevision)
            #expect(await cluster.instances[0].health()?["policy_revision"] as? String == clusterRevision)
        }
    }

    @Test func aClientLimitedToTenIsAdmittedExactlyTenTimesAcrossInstances() async throws {
        try await withCluster(rateLimit: 10) { cluster in
            var statuses: [Int] = []
            for request in 0..<16 {
                statuses.append(try await cluster.api(request % 2, "GET", "/api/holds").status)
            }
            #expect(statuses.filter { $0 == 200 }.count == 10, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 6, "\(statuses)")
        }
    }

    @Test func aWebhookDeliveredToEveryInstanceAppliesOnce() async throws {
        try await withCluster { cluster in
            let hold = try await cluster.placeHold(on: 0)
            try await cluster.confirmAtStripe(hold)
            let event = try await cluster.signedEvent("evt_cluster_\(UUID().uuidString.prefix(8))", type: "payment_intent.amount_capturable_updated", intent: hold)
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<6 {
                    group.addTask { [cluster] in
                        try await InstanceCluster.call("POST", cluster.instances[index % 2].baseURL + "/webhook",
                                                       headers: ["Stripe-Signature": event.signature], raw: event.body).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0 == 200 }, "every delivery acknowledged: \(answers)")
            for index in 0..<2 {
                let history = try await cluster.api(index, "GET", "/api/holds/\(hold)/events")
                let webhooks = (history.body["data"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "webhook" }
                #expect(webhooks.count == 1 && webhooks.first?["outcome"] as? String == "applied", "\(history.string)")
                let read = try await cluster.api(index, "GET", "/api/holds/\(hold)")
                #expect(read.body["status"] as? String == "requires_capture")
            }
        }
    }

    @Test func scheduledReleasesPlannedOnAKilledInstanceRunOnceOnTheOthers() async throws {
        try await withCluster { cluster in
            // The shipped policy releases a hold 48 h after check-out: check-out was 48 h ago
            // (less a few seconds), so each release is due seconds after it is planned.
            let checkOut = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-48 * 3600 + 4))
            var holds: [String] = []
            for _ in 0..<8 {
                let answer = try await cluster.api(0, "POST", "/api/holds", json: [
                    "amount": 20_000, "description": "Security deposit", "property_id": "prop_1", "metadata": ["check_out": checkOut],
                ], headers: ["Idempotency-Key": UUID().uuidString])
                let hold = try #require(answer.body["id"] as? String, "\(answer.string)")
                try await cluster.confirmAtStripe(hold)
                let event = try await cluster.signedEvent("evt_\(UUID().uuidString.prefix(12))", type: "payment_intent.amount_capturable_updated", intent: hold)
                let delivered = try await InstanceCluster.call("POST", cluster.instances[0].baseURL + "/webhook",
                                                               headers: ["Stripe-Signature": event.signature], raw: event.body)
                #expect(delivered.status == 200)
                holds.append(hold)
            }
            // Planned on instance 0, which dies before any is due.
            let planned = try await cluster.api(1, "GET", "/api/holds/\(holds[0])")
            #expect((planned.body["scheduled_action"] as? [String: Any])?["action"] as? String == "release", "\(planned.string)")
            cluster.instances[0].process.send(SIGKILL)
            let deadline = ContinuousClock.now + .seconds(20)
            var canceled: Set<String> = []
            while canceled.count < holds.count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                for hold in holds where !canceled.contains(hold) {
                    if try await cluster.api(1, "GET", "/api/holds/\(hold)").body["status"] as? String == "canceled" { canceled.insert(hold) }
                }
            }
            #expect(canceled.count == holds.count, "released by the surviving instance: \(canceled.count) of \(holds.count)")
            for hold in holds {
                #expect(try await cluster.executedStripeCalls("POST", pathSuffix: "/\(hold)/cancel").count == 1, "one release of \(hold) at Stripe")
            }
            let dead = cluster.instances.removeFirst()
            _ = await dead.exit()
        }
    }

    @Test func killingOneInstanceLeavesTheOthersPlacingHolds() async throws {
        try await withCluster { cluster in
            _ = try await cluster.placeHold(on: 0)
            cluster.instances[0].process.send(SIGKILL)
            for _ in 0..<5 {
                let hold = try await cluster.placeHold(on: 1)
                #expect(try await cluster.api(1, "GET", "/api/holds/\(hold)").status == 200)
            }
            let dead = cluster.instances.removeFirst()
            _ = await dead.exit()
        }
    }
}
