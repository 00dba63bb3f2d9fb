import ChittyCharge
import Foundation
import JSON
import NIOHTTP1
import PolicyEngine
import Synchronization
import Testing

/// `/admin/policies…` over real sockets: who may call them, reload with keep-last-good,
/// the policy's own tests as a gate, rollback from stored sources, and reloads under load.
@Suite struct AdminPolicyTests {
    static let admin = ["Authorization": "Bearer \(ServerHarness.adminToken)"]

    static func rewrite(_ harness: ServerHarness, _ file: String, _ edit: (String) -> String) throws {
        let url = URL(fileURLWithPath: harness.policyDirectory).appendingPathComponent(file)
        try edit(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
    }

    static func newGuestLimit(_ cents: Int) -> (String) -> String {
        { text in
            text.replacingOccurrences(of: #""NEW_GUEST": \d+"#, with: "\"NEW_GUEST\": \(cents)", options: .regularExpression)
        }
    }

    @Test func adminRoutesRefuseClientTokensAndMissingOrWrongTokens() async throws {
        try await ServerHarness.run { harness in
            let before = harness.policies.revision.id
            let attempts: [[String: String]] = [
                [:],
                ["ChittyID-Token": ServerHarness.token],
                ["Authorization": "Bearer \(ServerHarness.token)"],
                ["Authorization": "Bearer \(ServerHarness.partnerToken)"],
                ["Authorization": "Bearer wrong-admin-token-0123456789"],
                ["Authorization": ServerHarness.adminToken],
                ["Authorization": "Basic \(ServerHarness.adminToken)"],
            ]
            for headers in attempts {
                let routes: [(NIOHTTP1.HTTPMethod, String)] = [(.GET, "/admin/policies"), (.POST, "/admin/policies/reload"), (.POST, "/admin/policies/rollback")]
                for (method, path) in routes {
                    let reply = try await harness.api.send(method, path, headers: headers)
                    #expect(reply.status == 401, "\(method) \(path) with \(headers.keys.sorted())")
                    #expect(reply.json["code"]?.stringValue == "unauthorized")
                    #expect(reply.json["error"]?.stringValue == "Unauthorized")
                }
            }
            // The lowercase scheme is still the admin token.
            let lower = try await harness.api.send(.GET, "/admin/policies", headers: ["authorization": "bearer \(ServerHarness.adminToken)"])
            #expect(lower.status == 200)
            #expect(harness.policies.revision.id == before)
            #expect(try await harness.reloader.history().count == 1)
        }
    }

    @Test func withoutAnAdminTokenAdminRoutesAreDisabled() async throws {
        var options = ServerHarness.Options()
        options.adminToken = nil
        try await ServerHarness.run(options) { harness in
            let reply = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(reply.status == 503)
            #expect(reply.json["code"]?.stringValue == "admin_not_configured")
        }
    }

    @Test func statusShowsTheActiveRevisionItsFilesAndStoredRevisions() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin)
            #expect(reply.status == 200)
            let active = reply.json["active"]
            #expect(active?["revision"]?.stringValue == harness.policies.revision.id)
            #expect(active?["trigger"]?.stringValue == "startup")
            #expect(active?["directory"]?.stringValue == harness.policyDirectory)
            #expect(active?["loaded_at"]?.stringValue?.hasSuffix("Z") == true)
            var files: [String] = []
            if case .array(let list)? = active?["files"] { files = list.compactMap { $0["path"]?.stringValue } }
            #expect(files == ["origins.lua", "policy.lua", "schedule.lua", "settings.json", "tiers.lua"])
            #expect(active?["hooks"]?["hold_limit"]?.stringValue?.hasPrefix("policy.lua:") == true)
            #expect(reply.json["last_failure"] == .null)
            #expect(reply.json["revisions"]?.arrayCount == 1)
            // The policy's data and the origins the cors hook is handed, with where they come from.
            #expect(active?["settings"]?["hold_limits"]?["tiers"]?["NEW_GUEST"] == 250_000)
            #expect(active?["allowed_origins"]?["in_force"] == ["https://chitty.cc", "https://*.chitty.cc"])
            #expect(active?["allowed_origins"]?["source"] == "settings.json")
            #expect(active?["untested_hooks"] == ["hold_limit", "cors", "rate_limit", "hold_schedule"], "the harness's copy has no tests")
        }
        var options = ServerHarness.Options()
        options.allowedOrigins = ["https://ops.example.com"]
        try await ServerHarness.run(options) { harness in
            let origins = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin).json["active"]?["allowed_origins"]
            #expect(origins?["in_force"] == ["https://ops.example.com"])
            #expect(origins?["source"] == "ALLOWED_ORIGINS")
            let allowed = try await harness.api.send(.GET, "/health", headers: ["Origin": "https://ops.example.com"])
            #expect(allowed.header("Access-Control-Allow-Origin") == "https://ops.example.com")
            let settingsOnly = try await harness.api.send(.GET, "/health", headers: ["Origin": "https://app.chitty.cc"])
            #expect(settingsOnly.header("Access-Control-Allow-Origin") == nil, "ALLOWED_ORIGINS replaces the settings' list")
        }
    }

    /// Named admins: the activation record says who reloaded and why.
    @Test func aNamedAdminsReloadRecordsTheirNameAndMessage() async throws {
        var options = ServerHarness.Options()
        options.adminsFile = "# operators\nmaria:\(sha256Hex("maria-admin-token-0123456789"))\n"
        try await ServerHarness.run(options) { harness in
            let maria = ["Authorization": "Bearer maria-admin-token-0123456789", "Content-Type": "application/json"]
            try Self.rewrite(harness, "settings.json", Self.newGuestLimit(240_000))
            let tooLong = try await harness.api.send(.POST, "/admin/policies/reload", headers: maria,
                                                     body: JSONValue.object(["message": .string(String(repeating: "x", count: 501))]).jsonData)
            #expect(tooLong.status == 400)
            #expect(tooLong.json["details"]?["field"] == "message")
            let notJSON = try await harness.api.send(.POST, "/admin/policies/reload", headers: maria, body: Data(#"{"message": "#.utf8))
            #expect(notJSON.status == 400)
            #expect(notJSON.json["error"]?.stringValue == "The request body is not valid JSON", "\(notJSON.text)")
            let unknownField = try await harness.api.send(.POST, "/admin/policies/reload", headers: maria, body: Data(#"{"mesage": "typo"}"#.utf8))
            #expect(unknownField.status == 400)
            let reloaded = try await harness.api.send(.POST, "/admin/policies/reload", headers: maria,
                                                      body: Data(#"{"message": "Lakeview asked for a lower new-guest limit"}"#.utf8))
            #expect(reloaded.status == 200, "\(reloaded.text)")
            let status = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin)
            let newest = status.json["revisions"]?.arrayItems?.first
            #expect(newest?["activated_by"] == "maria")
            #expect(newest?["message"] == "Lakeview asked for a lower new-guest limit")
            #expect(status.json["revisions"]?.arrayItems?.last?["activated_by"] == .null, "startup names nobody")
            // ADMIN_TOKEN still works, as `admin`; a wrong token is 401.
            let back = try await harness.api.send(.POST, "/admin/policies/rollback", headers: Self.admin.merging(["Content-Type": "application/json"]) { $1 }, body: Data(#"{"message": "undo"}"#.utf8))
            #expect(back.status == 200, "\(back.text)")
            let after = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin)
            #expect(after.json["revisions"]?.arrayItems?.first?["activated_by"] == "admin")
            #expect(after.json["revisions"]?.arrayItems?.first?["message"] == "undo")
            let wrong = try await harness.api.send(.GET, "/admin/policies", headers: ["Authorization": "Bearer maria-admin-token-0123456780"])
            #expect(wrong.status == 401)
        }
    }

    @Test func aFolderWithoutATestForAHookItDefinesIsRefusedUnlessItSaysSo() async throws {
        try await ServerHarness.run { harness in
            let original = harness.policies.revision.id
            try Self.rewrite(harness, "settings.json") {
                $0.replacingOccurrences(of: #""untested_hooks": ["hold_limit", "cors", "rate_limit", "hold_schedule"]"#, with: #""untested_hooks": []"#)
            }
            let refused = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(refused.status == 422)
            let message = refused.json["details"]?["message"]?.stringValue ?? ""
            #expect(message.hasPrefix("hold_limit, cors, rate_limit, hold_schedule have no test case in tests/"), "\(message)")
            #expect(harness.policies.revision.id == original)
            let afterFailure = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin)
            #expect(afterFailure.json["last_failure"]?["error"]?.stringValue?.contains("have no test case") == true)

            // One case for hold_limit; the others said untested on purpose.
            let tests = URL(fileURLWithPath: harness.policyDirectory).appendingPathComponent("tests")
            try FileManager.default.createDirectory(at: tests, withIntermediateDirectories: true)
            try Data(#"[{"name": "a small hold", "hook": "hold_limit", "input": {"amount": 1000}, "expect": {"allow": true}}]"#.utf8)
                .write(to: tests.appendingPathComponent("limits.json"))
            try Self.rewrite(harness, "settings.json") {
                $0.replacingOccurrences(of: #""untested_hooks": []"#, with: #""untested_hooks": ["cors", "rate_limit", "hold_schedule"]"#)
            }
            let accepted = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(accepted.status == 200, "\(accepted.text)")
            let status = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin)
            #expect(status.json["active"]?["untested_hooks"] == ["cors", "rate_limit", "hold_schedule"])
            #expect(status.json["last_failure"] == .null, "the next success clears the failed reload")
        }
    }

    @Test func reloadActivatesAGoodCandidateAndKeepsTheLastGoodOnAFailure() async throws {
        try await ServerHarness.run { harness in
            let original = harness.policies.revision.id
            #expect(try await harness.api.send(.GET, "/health").json["policy_revision"]?.stringValue == original)
            let unchanged = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(unchanged.status == 200)
            #expect(unchanged.json["changed"] == .bool(false))
            #expect(unchanged.json["revision"]?.stringValue == original)

            try Self.rewrite(harness, "settings.json", Self.newGuestLimit(240_000))
            let reloaded = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(reloaded.status == 200)
            let revision = try #require(reloaded.json["revision"]?.stringValue)
            #expect(revision != original)
            #expect(reloaded.json["previous_revision"]?.stringValue == original)
            #expect(reloaded.json["trigger"]?.stringValue == "api")
            // /health's body is kept between checks; a reload is a new body.
            #expect(try await harness.api.send(.GET, "/health").json["policy_revision"]?.stringValue == revision)
            let placed = try await harness.api.createHold(["amount": 1_000, "description": "Deposit"])
            #expect(placed.json["tier_limit"] == .integer(240_000))
            #expect(placed.json["policy_revision"]?.stringValue == revision)

            // A syntax error: 422 with file:line; the revision that served keeps serving.
            try Self.rewrite(harness, "tiers.lua") { $0 + "\nthis is not lua(\n" }
            let broken = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(broken.status == 422)
            #expect(broken.json["code"]?.stringValue == "policy_invalid")
            #expect(broken.json["details"]?["message"]?.stringValue?.hasPrefix("tiers.lua:") == true)
            #expect(broken.json["details"]?["active_revision"]?.stringValue == revision)
            #expect(harness.policies.revision.id == revision)
            let still = try await harness.api.createHold(["amount": 1_000, "description": "Deposit"])
            #expect(still.status == 201)
            #expect(still.json["policy_revision"]?.stringValue == revision)

            // A hook that fails its smoke test is refused the same way.
            try Self.rewrite(harness, "tiers.lua") { _ in "error('tiers cannot load')" }
            let failing = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(failing.status == 422)
            #expect(failing.json["details"]?["message"]?.stringValue?.contains("tiers cannot load") == true)

            let status = try await harness.api.send(.GET, "/admin/policies", headers: Self.admin)
            #expect(status.json["active"]?["revision"]?.stringValue == revision)
            #expect(status.json["last_failure"]?["trigger"]?.stringValue == "api")
            #expect(status.json["last_failure"]?["error"]?.stringValue?.contains("tiers cannot load") == true)
            #expect(try await harness.reloader.history().map(\.id) == [revision, original])
        }
    }

    @Test func aCandidateThatFailsItsOwnTestsIsRefused() async throws {
        try await ServerHarness.run { harness in
            let original = harness.policies.revision.id
            let tests = URL(fileURLWithPath: harness.policyDirectory).appendingPathComponent("tests")
            try FileManager.default.createDirectory(at: tests, withIntermediateDirectories: true)
            try Data("""
                [{"name": "new guests may hold $2,500", "hook": "hold_limit",
                  "input": {"amount": 250000, "metadata": {"guest_tier": "NEW_GUEST"}},
                  "expect": {"allow": true, "max_amount": 250000}}]
                """.utf8).write(to: tests.appendingPathComponent("limits.json"))
            try Self.rewrite(harness, "settings.json", Self.newGuestLimit(100_000))
            let refused = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(refused.status == 422)
            let failed = refused.json["details"]?["failed_tests"]
            #expect(failed?.arrayCount == 1)
            if case .array(let list)? = failed {
                #expect(list.first?["name"]?.stringValue == "new guests may hold $2,500")
                #expect(list.first?["file"]?.stringValue == "tests/limits.json")
            }
            #expect(harness.policies.revision.id == original)

            // A test file that is not JSON fails the candidate too, rather than testing nothing.
            try Self.rewrite(harness, "settings.json", Self.newGuestLimit(250_000))
            try Self.rewrite(harness, "tiers.lua") { $0 + "\n-- reviewed\n" }
            try Data("[{".utf8).write(to: tests.appendingPathComponent("typo.json"))
            let typo = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(typo.status == 422)
            #expect(typo.json["details"]?["message"]?.stringValue?.contains("tests/typo.json") == true)

            try FileManager.default.removeItem(at: tests.appendingPathComponent("typo.json"))
            let passed = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
            #expect(passed.status == 200)
            #expect(passed.json["tests_passed"] == .integer(1))
        }
    }

    @Test func rollbackReactivatesStoredRevisionsWhateverTheFolderSays() async throws {
        try await ServerHarness.run { harness in
            let original = harness.policies.revision.id
            let nothing = try await harness.api.send(.POST, "/admin/policies/rollback", headers: Self.admin)
            #expect(nothing.status == 409)
            #expect(nothing.json["code"]?.stringValue == "no_previous_revision")

            try Self.rewrite(harness, "settings.json", Self.newGuestLimit(240_000))
            let second = try #require(try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin).json["revision"]?.stringValue)
            // The folder is then broken: rollback does not read it.
            try Self.rewrite(harness, "tiers.lua") { $0 + "\nbroken(\n" }

            let back = try await harness.api.send(.POST, "/admin/policies/rollback", headers: Self.admin)
            #expect(back.status == 200)
            #expect(back.json["revision"]?.stringValue == original)
            #expect(back.json["previous_revision"]?.stringValue == second)
            #expect(back.json["trigger"]?.stringValue == "rollback")
            let placed = try await harness.api.createHold(["amount": 1_000, "description": "Deposit"])
            #expect(placed.json["tier_limit"] == .integer(250_000))
            #expect(placed.json["policy_revision"]?.stringValue == original)

            // Rolling back again goes forward to the revision before this one.
            let forward = try await harness.api.call(.POST, "/admin/policies/rollback", json: ["revision": .string(second)], headers: Self.admin)
            #expect(forward.status == 200)
            #expect(harness.policies.revision.id == second)

            let unknown = try await harness.api.call(.POST, "/admin/policies/rollback", json: ["revision": "0123456789ab"], headers: Self.admin)
            #expect(unknown.status == 404)
            #expect(unknown.json["code"]?.stringValue == "revision_not_found")
            for body in [#"{"revision": 12}"#, #"{"rev": "x"}"#, #"["x"]"#, "{"] {
                let bad = try await harness.api.send(.POST, "/admin/policies/rollback",
                                                     headers: Self.admin.merging(["Content-Type": "application/json"]) { a, _ in a },
                                                     body: Data(body.utf8))
                #expect(bad.status == 400, "body \(body)")
            }
            #expect(harness.policies.revision.id == second)
        }
    }

    /// Issue 5: requests keep flowing while the policy is reloaded 100 times, alternating a
    /// good candidate and a broken one. No request fails, every hold is decided by one whole
    /// revision (its limit matches the revision it names), and every broken one is refused.
    @Test func hundredReloadsUnderLoadFailNoRequest() async throws {
        try await ServerHarness.run { harness in
            let shared = ReloadLoad(first: harness.policies.revision.id, limit: 250_000)
            let tiers = URL(fileURLWithPath: harness.policyDirectory).appendingPathComponent("tiers.lua")
            let goodTiers = try String(contentsOf: tiers, encoding: .utf8)
            let settings = URL(fileURLWithPath: harness.policyDirectory).appendingPathComponent("settings.json")
            let goodSettings = try String(contentsOf: settings, encoding: .utf8)
            let outcome = try await withThrowingTaskGroup(of: (ok: Int, failed: Int, mixed: Int).self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var tally = (ok: 0, failed: 0, mixed: 0)
                        while !shared.done.load(ordering: .relaxed) {
                            let reply = try await harness.api.createHold(["amount": 1_000, "description": "Deposit"])
                            guard reply.status == 201, let revision = reply.json["policy_revision"]?.stringValue else {
                                tally.failed += 1
                                continue
                            }
                            tally.ok += 1
                            shared.seen.withLock { _ = $0.insert(revision) }
                            // Revisions are registered before they are activated.
                            if shared.limits.withLock({ $0[revision] }) != reply.json["tier_limit"]?.integerValue { tally.mixed += 1 }
                        }
                        return tally
                    }
                }
                var accepted = 0
                var rejected = 0
                for index in 0..<100 {
                    if index % 2 == 0 {
                        let limit = index % 4 == 0 ? 240_000 : 250_000
                        try goodTiers.write(to: tiers, atomically: true, encoding: .utf8)
                        try Self.newGuestLimit(limit)(goodSettings).write(to: settings, atomically: true, encoding: .utf8)
                        let candidate = try PolicySourceSet(directory: harness.policyDirectory).revision
                        shared.limits.withLock { $0[candidate] = Int64(limit) }
                    } else {
                        try (goodTiers + "\nbroken \(index)(\n").write(to: tiers, atomically: true, encoding: .utf8)
                    }
                    let reply = try await harness.api.send(.POST, "/admin/policies/reload", headers: Self.admin)
                    if reply.status == 200, reply.json["changed"] == .bool(true) { accepted += 1 }
                    if reply.status == 422, reply.json["code"]?.stringValue == "policy_invalid" { rejected += 1 }
                    // Each reload leaves time for requests on the revision it activated.
                    try await Task.sleep(for: .milliseconds(20))
                }
                shared.done.store(true, ordering: .relaxed)
                var total = (ok: 0, failed: 0, mixed: 0)
                for try await tally in group {
                    total.ok += tally.ok
                    total.failed += tally.failed
                    total.mixed += tally.mixed
                }
                #expect(accepted == 50)
                #expect(rejected == 50)
                return total
            }
            #expect(outcome.failed == 0)
            #expect(outcome.mixed == 0)
            #expect(outcome.ok > 100)
            // Served by both good revisions: the reloads really happened under load.
            #expect(shared.seen.withLock { $0.count } == 2)
        }
    }
}

/// What the load and the reloading loop share: the limit each good revision gives, the
/// revisions responses named, and when to stop.
private final class ReloadLoad: Sendable {
    let limits: Mutex<[String: Int64]>
    let seen = Mutex<Set<String>>([])
    let done = Atomic<Bool>(false)

    init(first: String, limit: Int64) {
        limits = Mutex([first: limit])
    }
}

extension JSONValue {
    var arrayCount: Int? {
        if case .array(let list) = self { return list.count }
        return nil
    }
}
