import Foundation
import Testing

/// PostgreSQL stopped under a running instance and started again: requests fail with a
/// clear 503 (and `/health` says why) during the outage, and afterwards every booking ends
/// with exactly one hold and one PaymentIntent, whatever it was told during the outage.
@Suite("A PostgreSQL outage", .serialized)
struct DatabaseOutageTests {
    private static let script = PolicyCLITests.packageRoot.appendingPathComponent("scripts/postgres-test-cluster.sh")

    private static func cluster(_ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script.path] + arguments)
        guard result.status == 0 else { throw ClusterFailure("\(arguments.first ?? ""): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func requestsFailClearlyDuringAnOutageAndNothingIsLostOrDoubledAfter() async throws {
        // A cluster of its own: this test stops it.
        let started = try await Self.cluster(["start"]).split(separator: " ").map(String.init)
        let (folder, url) = (started[0], started[2])
        let cluster: InstanceCluster
        do {
            cluster = try await InstanceCluster.start(count: 1, databaseURL: url)
        } catch {
            _ = try? await Self.cluster(["stop", folder])
            throw error
        }
        do {
            try await Self.outage(cluster, folder: folder)
        } catch {
            let logs = await cluster.stop()
            _ = try? await Self.cluster(["stop", folder])
            let text = String(logs.joined().suffix(4_000))
            Issue.record("instance log:\n\(text)")
            throw error
        }
        _ = await cluster.stop()
        _ = try await Self.cluster(["stop", folder])
    }

    private static func outage(_ cluster: InstanceCluster, folder: String) async throws {
        let keys = (0..<15).map { "booking-\($0)-\(UUID().uuidString.prefix(6))" }
        @Sendable func place(_ key: String) async throws -> InstanceCluster.Answer {
            try await cluster.api(0, "POST", "/api/holds", json: ["amount": 12_000, "description": "Security deposit", "property_id": "prop_9"],
                                  headers: ["Idempotency-Key": key])
        }
        for key in keys[0..<5] {
            #expect(try await place(key).status == 201)
        }

        _ = try await Self.cluster(["stop-server", folder])
        var duringOutage: [InstanceCluster.Answer] = []
        for key in keys[5..<10] { duringOutage.append(try await place(key)) }
        for answer in duringOutage {
            #expect(answer.status == 503 && answer.code == "database_unavailable" && answer.headers["retry-after"] != nil, "\(answer.status) \(answer.string)")
        }
        var health = await cluster.instances[0].health()
        for _ in 0..<30 where health?["database_reachable"] as? Bool != false {
            try await Task.sleep(for: .milliseconds(200))
            health = await cluster.instances[0].health()
        }
        #expect(health?["status"] as? String == "unhealthy" && health?["database_reachable"] as? Bool == false, "\(health ?? [:])")
        #expect((health?["database_error"] as? String)?.isEmpty == false)

        _ = try await Self.cluster(["start-server", folder])
        // Clients retry what failed with the same Idempotency-Key; new bookings come too.
        var holds: [String: String] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        for key in keys {
            while holds[key] == nil {
                let answer = try await place(key)
                if (200..<300).contains(answer.status), let id = answer.body["id"] as? String {
                    holds[key] = id
                } else {
                    #expect(answer.status == 503 || answer.status == 409, "\(answer.status) \(answer.string)")
                    guard ContinuousClock.now < deadline else { throw ClusterFailure("\(key) not placed 30 s after the outage: \(answer.string)") }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        #expect(await cluster.instances[0].health()?["database_reachable"] as? Bool == true)
        #expect(Set(holds.values).count == keys.count, "one hold per booking")
        #expect(try await cluster.executedStripeCalls("POST", pathSuffix: "/v1/payment_intents").count == keys.count,
                "one PaymentIntent per booking")
        for id in holds.values {
            #expect(try await cluster.api(0, "GET", "/api/holds/\(id)").status == 200)
        }
    }
}
