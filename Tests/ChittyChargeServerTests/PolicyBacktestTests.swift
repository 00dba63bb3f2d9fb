import ChittyCharge
import ChittyChargeTestSupport
import ChittyIDClient
import Foundation
import HoldStoreSQLite
import JSON
import Logging
import MetricsTestKit
import PolicyEngine
import StripeAPI
import StripeEmulator
import Testing

/// Backtests against decisions the service really recorded: holds placed and refused
/// through the hold services with the shipped policy (Stripe emulated in-process), then
/// replayed through candidates that change known things.
@Suite struct PolicyBacktestTests {
    static let policyFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies").path
    /// Day one of the seeded traffic: 2026-03-02T12:00:00Z.
    static let dayOne = Date(timeIntervalSince1970: 1_772_452_800)
    static let dayTwo = dayOne.addingTimeInterval(86_400)

    static func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

    /// The shipped policy's files, each passed through `edit` (which must change what it is
    /// meant to, or the test is testing nothing).
    static func shippedPolicy(editing edit: (_ path: String, _ text: String) throws -> String = { $1 }) throws -> [String: String] {
        try ShippedPolicy.files(editing: edit)
    }

    static func replacing(_ old: String, with new: String, in text: String) throws -> String {
        try ShippedPolicy.replacing(old, with: new, in: text)
    }

    static func candidate(_ files: [String: String]) throws -> PolicyRevision {
        try PolicyBacktest.loadCandidate(PolicySourceSet(files: files), limits: .default)
    }

    /// A lower NEW_GUEST limit, a higher VERIFIED_GUEST one, and releases a day after
    /// check-out instead of two.
    static func changedCandidate() throws -> PolicyRevision {
        try candidate(shippedPolicy { path, text in
            switch path {
            case "settings.json":
                return try replacing("\"NEW_GUEST\": 250000", with: "\"NEW_GUEST\": 150000",
                                     in: replacing("\"VERIFIED_GUEST\": 500000", with: "\"VERIFIED_GUEST\": 600000",
                                                   in: replacing("\"release_after_check_out_hours\": 48", with: "\"release_after_check_out_hours\": 24", in: text)))
            default:
                return text
            }
        })
    }

    struct Seeded {
        let store: SQLiteHoldStore
        let policies: PolicyEngine
        /// The create-operation key of each seeded hold_limit decision, by the label given.
        let subjects: [String: String]
    }

    /// Records, through the hold services and the shipped policy, one second apart:
    /// day one — new guest 200,000 and 240,000 (placed), 300,000 (refused), verified 400,000
    /// (placed), premium 900,000 with a no-show fee (placed), 10 cents (refused), verified
    /// 550,000 (refused), and a new guest 100,000 decided while the policy was failing
    /// (fail-closed); day two — new guest 100,000 and verified 450,000 (placed). Placed holds
    /// are capturable at once, so each also gets a hold_schedule decision.
    static func withSeededStore(_ body: (Seeded) async throws -> Void) async throws {
        let clock = ManualWallClock(dayOne)
        let emulator = StripeEmulator(clock: clock)
        let gateway = StripeClient(transport: StripeEmulatorTransport(emulator: emulator), secretKey: "sk_test_backtest",
                                   logger: ServerHarness.quietLogger)
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cc-backtest-\(UUID().uuidString).sqlite").path
        defer { removeDatabase(database) }
        let store = try await SQLiteHoldStore.open(path: database, logger: ServerHarness.quietLogger)
        do {
            let policies = try PolicyEngine(directory: policyFolder, logger: ServerHarness.quietLogger, metricsFactory: TestMetrics())
            let service = HoldServices(store: store, gateway: gateway, minter: EmulatedChittyIDMinter(), policies: policies,
                                      clock: clock, logger: ServerHarness.quietLogger, metricsFactory: TestMetrics())
            var subjects: [String: String] = [:]
            func place(_ label: String, _ amount: Int, tier: String?, metadata: [String: JSONValue] = [:]) async throws {
                clock.advance(by: 1)
                var metadata = metadata
                if let tier { metadata["guest_tier"] = .string(tier) }
                let request = HoldRequest(amount: amount, description: "Deposit \(label)", metadata: metadata,
                                          customer: "cus_backtest", paymentMethod: "pm_card_visa", confirm: true)
                do {
                    let placement = try await service.placement.placeHold(request, client: "frontdesk", idempotencyKey: label, logger: ServerHarness.quietLogger)
                    subjects[label] = placement.hold.createOperationKey
                } catch {
                    // Refused: the operation (and its decision's subject) is found by the key.
                    let recorded = try await store.decisions(since: clock.now(), after: nil, limit: 10)
                    subjects[label] = try #require(recorded.first { $0.hook == "hold_limit" }?.subject)
                }
            }
            // Released two days after check-out, before the off-session hold's deadline (4 days
            // 18 hours) forces a reauthorization instead.
            let checkOut: JSONValue = .string(iso(dayOne.addingTimeInterval(86_400)))
            try await place("new-200k", 200_000, tier: "NEW_GUEST", metadata: ["check_out": checkOut])
            try await place("new-240k", 240_000, tier: "NEW_GUEST")
            try await place("new-300k", 300_000, tier: "NEW_GUEST")
            try await place("verified-400k", 400_000, tier: "VERIFIED_GUEST", metadata: ["check_out": checkOut])
            try await place("premium-900k", 900_000, tier: "PREMIUM_PROPERTY", metadata: [
                "no_show_fee": "5000", "check_in": .string(iso(dayOne.addingTimeInterval(86_400))),
            ])
            try await place("tiny", 10, tier: nil)
            try await place("verified-550k", 550_000, tier: "VERIFIED_GUEST")
            // The policy of the day fails on this hold: the service refuses it fail-closed.
            let shipped = policies.revision.sources
            try policies.reload(sources: PolicySourceSet(files: shippedPolicy { path, text in
                path == "policy.lua"
                    ? text + "\nlocal shipped_hold_limit = hold_limit\nfunction hold_limit(req)\n  if req.metadata.explode then error('boom') end\n  return shipped_hold_limit(req)\nend\n"
                    : text
            }))
            try await place("failed-100k", 100_000, tier: "NEW_GUEST", metadata: ["explode": true])
            try policies.reload(sources: shipped)

            clock.set(dayTwo)
            try await place("day2-new-100k", 100_000, tier: "NEW_GUEST", metadata: ["check_out": .string(iso(dayTwo.addingTimeInterval(86_400)))])
            try await place("day2-verified-450k", 450_000, tier: "VERIFIED_GUEST")
            try await body(Seeded(store: store, policies: policies, subjects: subjects))
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    /// SQLite keeps `-wal` and `-shm` files beside the database.
    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static func allDecisions(_ store: some HoldStore) async throws -> [PolicyDecisionRecord] {
        try await store.decisions(since: nil, after: nil, limit: 100_000)
    }

    // MARK: Classification

    @Test func aChangedCandidateIsClassifiedDecisionByDecision() async throws {
        try await Self.withSeededStore { seeded in
            let before = try await Self.allDecisions(seeded.store)
            #expect(before.count == 16, "10 hold_limit and 6 hold_schedule decisions were seeded")
            let candidate = try Self.changedCandidate()
            // Pages of 3 cut through the seeded traffic; the result must not depend on them.
            let summary = try await PolicyBacktest(store: seeded.store, candidate: candidate, examplesPerKind: 5, pageSize: 3).run()

            #expect(summary.candidateRevision == candidate.id)
            #expect(summary.replayed == 16)
            #expect(summary.skipped == 0)
            let limit = try #require(summary.hooks[.holdLimit])
            #expect(limit.replayed == 10)
            #expect(limit.counts == [.newlyRefused: 2, .newlyAllowed: 2, .differentLimit: 3, .unchanged: 3])
            #expect(limit.storedFailClosed == 1)
            #expect(limit.changed == 7)
            let schedule = try #require(summary.hooks[.holdSchedule])
            #expect(schedule.counts == [.differentSchedule: 3, .unchanged: 3])

            // Examples name the decisions, oldest first, with both sides.
            let refused = limit.examples[.newlyRefused] ?? []
            #expect(refused.map(\.subject) == [seeded.subjects["new-200k"], seeded.subjects["new-240k"]])
            #expect(refused.first?.input?["amount"] == 200_000)
            #expect(refused.first?.stored?["allow"] == true)
            #expect(refused.first?.stored?["max_amount"] == 250_000)
            #expect(refused.first?.candidate?["allow"] == false)
            #expect(refused.first?.candidate?["max_amount"] == 150_000)
            #expect(refused.first?.storedRevision == seeded.policies.revision.id)
            #expect(refused.first?.storedSource == "policy")
            #expect(refused.first?.createdAt == Self.dayOne.addingTimeInterval(1))

            let allowed = limit.examples[.newlyAllowed] ?? []
            #expect(allowed.map(\.subject) == [seeded.subjects["verified-550k"], seeded.subjects["failed-100k"]])
            #expect(allowed.last?.storedSource == "fail_closed", "a decision the failing policy refused is marked as such")
            #expect(allowed.last?.storedRevision != seeded.policies.revision.id)
            #expect((limit.examples[.differentLimit] ?? []).map(\.subject)
                == [seeded.subjects["verified-400k"], seeded.subjects["day2-new-100k"], seeded.subjects["day2-verified-450k"]])
            #expect(limit.examples[.unchanged] == nil, "unchanged decisions are counted, not kept")

            let moved = schedule.examples[.differentSchedule] ?? []
            #expect(moved.count == 3)
            for example in moved {
                #expect(example.stored?["action"] == "release")
                #expect(example.candidate?["action"] == "release")
                let storedAt = try #require(example.stored?["at"]?.integerValue)
                #expect(example.candidate?["at"]?.integerValue == storedAt - 86_400, "released a day earlier")
                #expect(example.subject?.hasPrefix("pi_") == true, "hold_schedule decisions are about a hold")
            }

            #expect(try await Self.allDecisions(seeded.store) == before, "a backtest writes nothing")
        }
    }

    @Test func sinceReplaysOnlyLaterDecisions() async throws {
        try await Self.withSeededStore { seeded in
            let summary = try await PolicyBacktest(store: seeded.store, candidate: try Self.changedCandidate(), since: Self.dayTwo).run()
            #expect(summary.replayed == 4)
            #expect(summary.hooks[.holdLimit]?.counts == [.differentLimit: 2])
            #expect(summary.hooks[.holdSchedule]?.counts == [.differentSchedule: 1, .unchanged: 1])
            #expect(summary.firstDecisionAt.map { $0 >= Self.dayTwo } == true)

            let later = try await PolicyBacktest(store: seeded.store, candidate: try Self.changedCandidate(),
                                                 since: Self.dayTwo.addingTimeInterval(86_400)).run()
            #expect(later.replayed == 0)
            #expect(later.firstDecisionAt == nil)
        }
    }

    @Test func theShippedPolicyAgainstItsOwnDecisionsChangesNothingButWhatFailed() async throws {
        try await Self.withSeededStore { seeded in
            // Records a backtest cannot use: a hook it does not replay, and damaged JSON.
            let odd = [
                PolicyDecisionRecord(id: "cors-1", hook: "cors", revision: "r", source: "policy", input: Data("{}".utf8),
                                     decision: Data(#"{"allow":true}"#.utf8), subject: nil, createdAt: Self.dayTwo.addingTimeInterval(60)),
                PolicyDecisionRecord(id: "broken-1", hook: "hold_limit", revision: "r", source: "policy", input: Data("{\"amount\":".utf8),
                                     decision: Data(#"{"allow":true}"#.utf8), subject: "op-x", createdAt: Self.dayTwo.addingTimeInterval(61)),
                PolicyDecisionRecord(id: "broken-2", hook: "hold_schedule", revision: "r", source: "policy", input: Data("{}".utf8),
                                     decision: Data(#"{"when":"soon"}"#.utf8), subject: "pi_x", createdAt: Self.dayTwo.addingTimeInterval(62)),
            ]
            for record in odd { try await seeded.store.recordDecision(record) }
            let summary = try await PolicyBacktest(store: seeded.store, candidate: try Self.candidate(Self.shippedPolicy())).run()
            #expect(summary.skipped == 1)
            #expect(summary.replayed == 18)
            #expect(summary.hooks[.holdLimit]?.counts == [.newlyAllowed: 1, .unchanged: 9, .unreadable: 1])
            #expect(summary.hooks[.holdLimit]?.examples[.newlyAllowed]?.first?.storedSource == "fail_closed")
            #expect(summary.hooks[.holdLimit]?.examples[.unreadable]?.first?.decisionID == "broken-1")
            #expect(summary.hooks[.holdSchedule]?.counts == [.unchanged: 6, .unreadable: 1])
            #expect(summary.hooks[.holdSchedule]?.examples[.unreadable]?.first?.error?.contains("lacks the fields") == true)
        }
    }

    @Test func aCandidateThatFailsOnSomeInputsIsReportedWithItsError() async throws {
        try await Self.withSeededStore { seeded in
            let candidate = try Self.candidate(Self.shippedPolicy { path, text in
                path == "policy.lua"
                    ? text + """

                        local shipped_hold_limit, shipped_hold_schedule = hold_limit, hold_schedule
                        function hold_limit(req)
                          if req.metadata.guest_tier == "PREMIUM_PROPERTY" then error("premium tiers are not decided yet") end
                          return shipped_hold_limit(req)
                        end
                        function hold_schedule(hold)
                          if hold.metadata.no_show_fee then return { action = "capture" } end
                          return shipped_hold_schedule(hold)
                        end
                        """
                    : text
            })
            let summary = try await PolicyBacktest(store: seeded.store, candidate: candidate, examplesPerKind: 1).run()
            let limit = try #require(summary.hooks[.holdLimit])
            #expect(limit.counts == [.candidateError: 1, .newlyAllowed: 1, .unchanged: 8])
            let failure = try #require(limit.examples[.candidateError]?.first)
            #expect(failure.subject == seeded.subjects["premium-900k"])
            #expect(failure.candidate == nil)
            #expect(failure.error?.hasPrefix("runtime: policy.lua:") == true, "\(failure.error ?? "")")
            #expect(failure.error?.contains("premium tiers are not decided yet") == true)

            let schedule = try #require(summary.hooks[.holdSchedule])
            #expect(schedule.counts == [.candidateError: 1, .unchanged: 5])
            #expect(schedule.examples[.candidateError]?.first?.error?.hasPrefix("invalid_result: hold_schedule (policy.lua:") == true,
                    "\(schedule.examples[.candidateError]?.first?.error ?? "")")
        }
    }

    @Test func aCandidateThatDoesNotCompileIsRefusedWithFileAndLine() throws {
        var files = try Self.shippedPolicy()
        files["tiers.lua"] = "local M = {}\nM.LIMITS = {\n  NEW_GUEST = 1\n\nreturn M\n"
        let error = #expect(throws: PolicyLoadError.self) { try Self.candidate(files) }
        #expect(error?.message.hasPrefix("tiers.lua:5:") == true, "\(error?.message ?? "")")
    }

    /// Large pages are evaluated in parallel chunks; the examples must still be the first
    /// decisions in time order.
    @Test func parallelEvaluationKeepsTimeOrder() async throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cc-backtest-\(UUID().uuidString).sqlite").path
        defer { Self.removeDatabase(database) }
        let store = try await SQLiteHoldStore.open(path: database, logger: ServerHarness.quietLogger)
        do {
            let shipped = try Self.candidate(Self.shippedPolicy())
            // 400 new-guest requests, one a millisecond, from 100,000 to 299,500 cents.
            for index in 0..<400 {
                let input: JSONValue = ["amount": .integer(Int64(100_000 + index * 500)), "currency": "usd", "description": "Deposit",
                                          "metadata": ["guest_tier": "NEW_GUEST"], "client": "frontdesk"]
                let decision = shipped.evaluate(.holdLimit, input: input)
                try await store.recordDecision(PolicyDecisionRecord(
                    id: String(format: "d-%04d", index), hook: "hold_limit", revision: decision.revision, source: decision.source.rawValue,
                    input: input.jsonData, decision: decision.decision.jsonData, subject: "op-\(index)",
                    createdAt: Self.dayOne.addingTimeInterval(Double(index) / 1000)))
            }
            let summary = try await PolicyBacktest(store: store, candidate: try Self.changedCandidate(), examplesPerKind: 4,
                                                   pageSize: 1000, concurrency: 4).run()
            // Shipped: allowed up to 250,000 (index 300). Candidate: up to 150,000 (index 100).
            #expect(summary.hooks[.holdLimit]?.counts == [.differentLimit: 101, .newlyRefused: 200, .unchanged: 99])
            #expect(summary.hooks[.holdLimit]?.examples[.newlyRefused]?.map(\.decisionID) == ["d-0101", "d-0102", "d-0103", "d-0104"])
            #expect(summary.hooks[.holdLimit]?.examples[.differentLimit]?.map(\.decisionID) == ["d-0000", "d-0001", "d-0002", "d-0003"])
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    // MARK: POST /admin/policies/backtest

    static let adminJSON = ["Authorization": "Bearer \(ServerHarness.adminToken)", "Content-Type": "application/json"]

    static func postBacktest(_ harness: ServerHarness, _ body: JSONValue, headers: [String: String] = adminJSON) async throws -> APIClient.Reply {
        try await harness.api.send(.POST, "/admin/policies/backtest", headers: headers, body: body.jsonData)
    }

    /// The harness's policy folder (the shipped policy, its rate limit raised) as files,
    /// with the new-guest limit lowered to 150,000.
    static func harnessCandidate(_ harness: ServerHarness) throws -> [String: String] {
        var files: [String: String] = [:]
        for file in harness.policies.revision.sources.files {
            let text = String(decoding: file.contents, as: UTF8.self)
            files[file.path] = file.path == "settings.json"
                ? try replacing("\"NEW_GUEST\": 250000", with: "\"NEW_GUEST\": 150000", in: text) : text
        }
        return files
    }

    /// The origins browsers called from are noted once a day; a candidate that drops the
    /// wildcard and adds a partner shows who would be let in or shut out.
    @Test func theBacktestPreviewsCORSForTheOriginsSeen() async throws {
        try await ServerHarness.run { harness in
            for origin in ["https://app.chitty.cc", "https://chitty.cc", "https://partner.example", "https://app.chitty.cc"] {
                _ = try await harness.api.send(.GET, "/health", headers: ["Origin": origin])
            }
            // Sightings are written off the request path.
            var seen: [OriginSighting] = []
            for _ in 0..<200 where seen.count < 3 {
                seen = try await harness.store.originSightings(since: nil, limit: 10)
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(seen.map(\.origin) == ["https://app.chitty.cc", "https://chitty.cc", "https://partner.example"])
            #expect(seen.map(\.allowed) == [true, true, false])

            var files = try Self.harnessCandidate(harness)
            files["settings.json"] = try Self.replacing(#""allowed_origins": ["https://chitty.cc", "https://*.chitty.cc"]"#,
                                                   with: #""allowed_origins": ["https://chitty.cc", "https://partner.example"]"#,
                                                   in: try #require(files["settings.json"]))
            let reply = try await Self.postBacktest(harness, ["files": .object(files.mapValues(JSONValue.string))])
            #expect(reply.status == 200, "\(reply.text)")
            let cors = reply.json["cors"]
            #expect(cors?["origins"] == 3)
            #expect(cors?["newly_allowed"] == ["https://partner.example"])
            #expect(cors?["newly_refused"] == ["https://app.chitty.cc"])
            #expect(cors?["unchanged"] == 1)
        }
    }

    @Test func theAdminRouteAnswersTheSummaryForFilesOrAFolder() async throws {
        let root = try Self.backtestRoot()
        try await ServerHarness.run(ServerHarness.Options(backtestRoot: root)) { harness in
            #expect(try await harness.api.createHold(["amount": 200_000, "description": "Deposit", "metadata": ["guest_tier": "NEW_GUEST"]]).status == 201)
            #expect(try await harness.api.createHold(["amount": 300_000, "description": "Deposit", "metadata": ["guest_tier": "NEW_GUEST"]]).status == 400)
            let active = harness.policies.revision.id
            let files = try Self.harnessCandidate(harness)
            let candidateRevision = try PolicySourceSet(files: files).revision

            let byFiles = try await Self.postBacktest(harness, ["files": .object(files.mapValues(JSONValue.string)), "examples": 1])
            #expect(byFiles.status == 200, "\(byFiles.text)")
            #expect(byFiles.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(byFiles.json["candidate_revision"] == .string(candidateRevision))
            #expect(byFiles.json["replayed"] == 2)
            #expect(byFiles.json["hooks"]?["hold_limit"]?["counts"]?["newly_refused"] == 1)
            #expect(byFiles.json["hooks"]?["hold_limit"]?["counts"]?["unchanged"] == 1)
            let example = byFiles.json["hooks"]?["hold_limit"]?["examples"]?["newly_refused"]?.arrayItems?.first
            #expect(example?["input"]?["amount"] == 200_000)
            #expect(example?["input"]?["client"] == "default")
            #expect(example?["stored_revision"] == .string(active))
            #expect(example?["candidate"]?["max_amount"] == 150_000)

            let folder = URL(fileURLWithPath: root).appendingPathComponent("next")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (path, text) in files { try text.write(to: folder.appendingPathComponent(path), atomically: true, encoding: .utf8) }
            let byFolder = try await Self.postBacktest(harness, ["dir": "next"])
            #expect(byFolder.status == 200, "\(byFolder.text)")
            #expect(byFolder.json["candidate_revision"] == .string(candidateRevision))
            #expect(byFolder.json["hooks"]?["hold_limit"]?["counts"] == byFiles.json["hooks"]?["hold_limit"]?["counts"])

            let tomorrow = Date().addingTimeInterval(86_400).formatted(Date.ISO8601FormatStyle())
            let later = try await Self.postBacktest(harness, ["dir": "next", "since": .string(tomorrow)])
            #expect(later.status == 200)
            #expect(later.json["replayed"] == 0)
            #expect(later.json["since"]?.stringValue?.hasPrefix(String(tomorrow.prefix(19))) == true)

            #expect(harness.policies.revision.id == active, "a backtest activates nothing")
        }
    }

    @Test func theAdminRouteRefusesCandidatesThatDoNotLoadWith422() async throws {
        let root = try Self.backtestRoot()
        try await ServerHarness.run(ServerHarness.Options(backtestRoot: root)) { harness in
            var files = try Self.harnessCandidate(harness)
            files["policy.lua"] = "function hold_limit(req)\n  return {\nend\n"
            let broken = try await Self.postBacktest(harness, ["files": .object(files.mapValues(JSONValue.string))])
            #expect(broken.status == 422)
            #expect(broken.json["code"] == "policy_invalid")
            #expect(broken.json["details"]?["message"]?.stringValue?.hasPrefix("policy.lua:3:") == true, "\(broken.text)")
            #expect(broken.json["error"]?.stringValue?.hasPrefix("The policy candidate does not load: policy.lua:3:") == true)

            let missing = try await Self.postBacktest(harness, ["dir": "policies-next"])
            #expect(missing.status == 422)
            #expect(missing.json["details"]?["message"]?.stringValue?.contains("no such policy folder") == true, "\(missing.text)")

            let badName = try await Self.postBacktest(harness, ["files": ["policy.lua": "", "../escape.lua": "return {}"]])
            #expect(badName.status == 422, "\(badName.text)")
        }
    }

    /// A fresh folder to serve as `POLICY_BACKTEST_ROOT`.
    static func backtestRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cc-backtest-root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root.path
    }

    @Test func aCandidateFolderMustLieInsideTheBacktestRoot() async throws {
        let root = try Self.backtestRoot()
        let outside = try Self.backtestRoot()
        try "function hold_limit(req) return {allow=true, max_amount=1, tier='x'} end\n"
            .write(toFile: outside + "/policy.lua", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside)
        try await ServerHarness.run(ServerHarness.Options(backtestRoot: root)) { harness in
            for dir in [outside, "../" + URL(fileURLWithPath: outside).lastPathComponent, "link", "/etc", ".", "next/../.."] {
                let reply = try await Self.postBacktest(harness, ["dir": .string(dir)])
                #expect(reply.status == 400, "\(dir) → \(reply.text)")
                #expect(reply.json["code"] == "backtest_dir_not_allowed", "\(dir)")
                #expect(reply.json["details"]?["field"] == "dir")
            }
        }
        // Without a root, no folder at all: candidates come as files.
        try await ServerHarness.run { harness in
            let reply = try await Self.postBacktest(harness, ["dir": .string(outside)])
            #expect(reply.status == 400, "\(reply.text)")
            #expect(reply.json["code"] == "backtest_dir_not_allowed")
            #expect(reply.json["error"]?.stringValue?.contains("send the sources as files") == true)
        }
    }

    @Test func theAdminRouteRefusesMalformedBodiesWith400() async throws {
        try await ServerHarness.run { harness in
            let cases: [(body: Data, field: String?, says: String)] = [
                (Data("{\"dir\":".utf8), nil, "must be a JSON object"),
                (Data("[\"policies\"]".utf8), nil, "must be a JSON object"),
                (JSONValue.object([:]).jsonData, nil, "exactly one of dir"),
                ((["dir": "/srv/a", "files": ["policy.lua": ""]] as JSONValue).jsonData, nil, "exactly one of dir"),
                ((["dir": "/srv/a", "revision": "x"] as JSONValue).jsonData, "revision", "Unknown field 'revision'"),
                ((["dir": 5] as JSONValue).jsonData, "dir", "dir must name"),
                ((["files": ["policy.lua": 1]] as JSONValue).jsonData, "files", "must be the file's text"),
                ((["files": "policy.lua"] as JSONValue).jsonData, "files", "files must be an object"),
                ((["dir": "/srv/a", "since": "last week"] as JSONValue).jsonData, "since", "ISO-8601 date"),
                ((["dir": "/srv/a", "examples": 1000] as JSONValue).jsonData, "examples", "from 0 to 100"),
            ]
            for (body, field, says) in cases {
                let reply = try await harness.api.send(.POST, "/admin/policies/backtest", headers: Self.adminJSON, body: body)
                #expect(reply.status == 400, "\(String(decoding: body, as: UTF8.self)) → \(reply.text)")
                #expect(reply.json["code"] == "invalid_request")
                #expect(reply.json["error"]?.stringValue?.contains(says) == true, "\(reply.text)")
                #expect(reply.json["details"]?["field"]?.stringValue == field)
            }
            let notJSON = try await harness.api.send(.POST, "/admin/policies/backtest", headers: ["Authorization": Self.adminJSON["Authorization"]!, "Content-Type": "text/plain"],
                                                     body: Data("dir=/srv/a".utf8))
            #expect(notJSON.status == 415)
            let unauthenticated = try await Self.postBacktest(harness, ["dir": "/srv/a"], headers: ["Content-Type": "application/json"])
            #expect(unauthenticated.status == 401)
            let wrongMethod = try await harness.api.send(.GET, "/admin/policies/backtest", headers: Self.adminJSON)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "POST, OPTIONS")
        }
    }

    // MARK: The summary's JSON and dates

    @Test func theSummaryJSONListsEveryKindOfEachHook() async throws {
        try await Self.withSeededStore { seeded in
            let summary = try await PolicyBacktest(store: seeded.store, candidate: try Self.changedCandidate(), examplesPerKind: 1).run()
            let json = summary.json
            #expect(json["object"] == "policy_backtest")
            #expect(json["replayed"] == 16)
            #expect(json["since"] == .null)
            #expect(json["hooks"]?["hold_limit"]?["counts"] == [
                "newly_refused": 2, "newly_allowed": 2, "different_limit": 3, "candidate_error": 0, "unreadable": 0, "unchanged": 3,
            ])
            #expect(json["hooks"]?["hold_limit"]?["stored_fail_closed"] == 1)
            #expect(json["hooks"]?["hold_schedule"]?["counts"] == ["different_schedule": 3, "candidate_error": 0, "unreadable": 0, "unchanged": 3])
            let example = try #require(json["hooks"]?["hold_limit"]?["examples"]?["newly_refused"]?.arrayItems?.first)
            #expect(example["subject"] == .string(seeded.subjects["new-200k"] ?? ""))
            #expect(example["created_at"] == "2026-03-02T12:00:01.000Z")
            #expect(example["stored"]?["max_amount"] == 250_000)
            #expect(example["candidate"]?["max_amount"] == 150_000)
            #expect(json["hooks"]?["hold_limit"]?["examples"]?["candidate_error"] == [])
            #expect(json["stored_revisions"]?.objectValue?.values.reduce(0) { $0 + ($1.integerValue ?? 0) } == 16)
        }
    }

    @Test func sinceAcceptsISODatesAndDateTimesOnly() {
        #expect(PolicyBacktest.date(from: "2026-03-02") == Self.dayOne.addingTimeInterval(-12 * 3600))
        #expect(PolicyBacktest.date(from: "2026-03-02T12:00:00Z") == Self.dayOne)
        #expect(PolicyBacktest.date(from: "2026-03-02T14:00:00+02:00") == Self.dayOne)
        #expect(PolicyBacktest.date(from: "2026-03-02T12:00:00.500Z") == Self.dayOne.addingTimeInterval(0.5))
        for text in ["2026-03-02T12:00:00", "yesterday", "2026-13-01", "02/03/2026", "1772452800", ""] {
            #expect(PolicyBacktest.date(from: text) == nil, "\(text)")
        }
    }
}

extension JSONValue {
    var arrayItems: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
