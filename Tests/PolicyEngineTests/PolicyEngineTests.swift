import Foundation
import JSON
import Testing
@testable import PolicyEngine

@Suite struct PolicyEngineTests {
    static let echoPolicy = """
        function hold_limit(req)
          return { allow = req.amount <= 100000, max_amount = req.amount * 2, tier = req.client,
                   details = { metadata = req.metadata, email = req.customer_email, property = req.property_id } }
        end
        """

    @Test func inputsArriveAsLuaTablesWithTheirTypes() throws {
        let revision = try makeRevision(Self.echoPolicy)
        let metadata: [String: JSONValue] = [
            "guest_tier": "VERIFIED_GUEST", "nights": 3, "rate": 129.5, "pets": false,
            "tags": ["quiet", "late"], "address": ["city": "Austin", "zip": ["code": "78701"]], "empty": [],
        ]
        let evaluation = revision.holdLimit(.init(amount: 5000, customerEmail: "g@example.com", metadata: metadata, client: "app"))
        #expect(evaluation.error == nil)
        #expect(evaluation.decision.maxAmount == 10000)
        #expect(evaluation.decision.tier == "app")
        let echoed = evaluation.decision.details
        #expect(echoed?["email"] == "g@example.com")
        #expect(echoed?["property"] == nil)  // nil in Lua: the key is absent
        var expected = metadata
        expected["empty"] = .object([:])  // an empty Lua table reads back as an empty table
        #expect(echoed?["metadata"] == .object(expected))
    }

    @Test func everyDecisionCarriesTheRevision() throws {
        let revision = try makeRevision(Self.echoPolicy)
        #expect(revision.holdLimit(goodRequest).revision == revision.id)
        #expect(revision.cors(.init(origin: "https://chitty.cc")).revision == revision.id)
        #expect(revision.id.count == 12)
    }

    @Test func absentHooksUseTheBuiltInDefaults() throws {
        let revision = try makeRevision(Self.echoPolicy)
        #expect(revision.definedHooks.keys.sorted(by: { $0.name < $1.name }) == [.holdLimit])
        let cors = revision.cors(.init(origin: "https://app.chitty.cc"))
        #expect(cors.source == .builtIn && cors.decision.allow)
        #expect(revision.cors(.init(origin: "https://evilchitty.cc")).decision.allow == false)
        let rate = revision.rateLimit(.init(client: "app", route: "/api/holds", method: "POST", ip: "127.0.0.1"))
        #expect(rate.source == .builtIn && rate.decision == .init(limit: 10, window: 60, key: "app"))
        #expect(revision.holdSchedule(HoldScheduleHook.smokeInput).decision == .init(action: .none))
    }

    @Test func emptyPolicyUsesBuiltInsForEverything() throws {
        let revision = try makeRevision("-- nothing here yet")
        let decision = revision.holdLimit(.init(amount: 300_000, metadata: ["guest_tier": "NEW_GUEST"])).decision
        #expect(decision == HoldLimitHook.Decision(
            allow: false, maxAmount: 250_000, tier: "NEW_GUEST", reason: "Amount exceeds limit for NEW_GUEST tier",
            details: ["current_tier": "NEW_GUEST", "max_amount": 250_000]))
    }

    @Test func failModesFollowThePolicyContract() throws {
        let revision = try makeRevision("""
            local function boom(req) if req.client == "evil" or req.origin == "https://evil.example" or req.id == "pi_evil" then error("boom") end end
            function hold_limit(req) boom(req) return { allow = true, max_amount = 5, tier = "T" } end
            function cors(req) boom(req) return { allow = true } end
            function rate_limit(req) boom(req) return { limit = 1000, window = 1 } end
            function hold_schedule(hold) boom(hold) return { action = "release", at = 1767456000 } end
            """)
        let hold = revision.holdLimit(evilRequest)
        #expect(hold.source == .failClosed && !hold.decision.allow && hold.error?.kind == .runtime)

        let cors = revision.cors(.init(origin: "https://evil.example"))
        #expect(cors.source == .failClosed && !cors.decision.allow)

        let rate = revision.rateLimit(.init(client: "evil", route: "/api/holds", method: "GET", ip: "::1"))
        #expect(rate.source == .failClosed)
        #expect(rate.decision == .init(limit: 10, window: 60, key: "evil"))

        var input = HoldScheduleHook.smokeInput
        input.id = "pi_evil"
        let schedule = revision.holdSchedule(input)
        #expect(schedule.source == .failClosed && schedule.decision == .init(action: .none))

        // The same hooks decide normally for other inputs.
        #expect(revision.rateLimit(.init(client: "app", route: "/", method: "GET", ip: "::1")).decision == .init(limit: 1000, window: 1, key: "app"))
        #expect(revision.holdSchedule(HoldScheduleHook.smokeInput).decision == .init(action: .release, at: 1767456000))
    }

    @Test func scheduleResultsAreValidated() throws {
        let revision = try makeRevision("""
            function hold_schedule(hold)
              local m = hold.metadata
              if m.case == "verb" then return { action = "explode", at = 1767456000 } end
              if m.case == "millis" then return { action = "capture", at = 1767456000000 } end
              if m.case == "no_at" then return { action = "release" } end
              if m.case == "amount_on_release" then return { action = "release", at = 1767456000, amount = 5 } end
              if m.case == "capture" then return { action = "capture", at = 1767456000, amount = 2500 } end
              return { action = "none" }
            end
            """)
        func schedule(_ name: String) -> PolicyEvaluation<HoldScheduleHook.Decision> {
            var input = HoldScheduleHook.smokeInput
            input.metadata = ["case": .string(name)]
            return revision.holdSchedule(input)
        }
        #expect(schedule("verb").error?.message.contains("returned action 'explode'") == true)
        #expect(schedule("millis").error?.message.contains("'at' = 1767456000000") == true)
        #expect(schedule("no_at").error?.message.contains("returned no 'at' field") == true)
        #expect(schedule("amount_on_release").error?.message.contains("only a capture takes an amount") == true)
        #expect(schedule("capture").decision == .init(action: .capture, at: 1767456000, amount: 2500))
    }

    @Test func rateLimitKeyDefaultsToTheClient() throws {
        let revision = try makeRevision("function rate_limit(req) return { limit = 3, window = 10 } end")
        #expect(revision.rateLimit(.init(client: "app", route: "/", method: "GET", ip: "::1")).decision == .init(limit: 3, window: 10, key: "app"))
    }

    @Test func syntaxErrorStopsTheLoadWithFileAndLine() {
        let error = loadError("function hold_limit(req)\n  return { allow = true\nend\n")
        #expect(error?.message.hasPrefix("policy.lua:3:") == true, "\(String(describing: error))")
        let moduleError = loadError("require('tiers')", modules: ["tiers.lua": "local x = = 1"])
        #expect(moduleError?.message.hasPrefix("tiers.lua:1:") == true, "\(String(describing: moduleError))")
    }

    @Test func hookThatIsNotAFunctionStopsTheLoad() {
        let error = loadError("cors = { allow = true }")
        #expect(error?.message == "policy.lua: 'cors' is a table, not a function")
    }

    @Test func hookThatFailsItsSmokeTestStopsTheLoad() {
        let error = loadError("function rate_limit(req)\n  return { limit = 'lots', window = 60 }\nend\n")
        #expect(error?.message == "policy.lua:1: rate_limit failed its smoke test: rate_limit (policy.lua:1) returned 'limit' as a string; it must be a whole number")
    }

    @Test func missingEntryOrFolderIsAClearError() {
        #expect(throws: PolicyLoadError("<memory>: no policy.lua (the entry every policy set needs)")) {
            try PolicySourceSet(files: ["tiers.lua": "return {}"])
        }
        #expect(throws: PolicyLoadError("/nonexistent/policies: no such policy folder")) {
            try PolicySourceSet(directory: "/nonexistent/policies")
        }
    }

    @Test func revisionIdIsAStableHashOfTheFiles() throws {
        let first = try makeSources("function cors(req) return { allow = true } end", modules: ["a.lua": "return 1"])
        let same = try makeSources("function cors(req) return { allow = true } end", modules: ["a.lua": "return 1"])
        let editedModule = try makeSources("function cors(req) return { allow = true } end", modules: ["a.lua": "return 2"])
        let renamed = try makeSources("function cors(req) return { allow = true } end", modules: ["b.lua": "return 1"])
        #expect(first.revision == same.revision)
        #expect(first.revision != editedModule.revision)
        #expect(first.revision != renamed.revision)
    }

    @Test func testsSettingsAndModulesInSubfoldersAllCountInTheRevisionButOtherFilesDoNot() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("lib"), withIntermediateDirectories: true)
        try "local l = require('lib.limits')\nfunction hold_limit(req) return { allow = true, max_amount = l.max, tier = 'T' } end"
            .write(to: folder.appendingPathComponent("policy.lua"), atomically: true, encoding: .utf8)
        try "return { max = 42 }".write(to: folder.appendingPathComponent("lib/limits.lua"), atomically: true, encoding: .utf8)
        try "[]".write(to: folder.appendingPathComponent("tests/a.json"), atomically: true, encoding: .utf8)
        let before = try PolicySourceSet(directory: folder.path)
        #expect(before.files.map(\.path) == ["lib/limits.lua", "policy.lua", "tests/a.json"])
        try "notes".write(to: folder.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        try "[]".write(to: folder.appendingPathComponent("tests/.swap.json"), atomically: true, encoding: .utf8)
        #expect(try PolicySourceSet(directory: folder.path).revision == before.revision, "a README or a hidden file is not policy")
        // Deleting (or changing) the tests is a new revision: the gate cannot be skipped under
        // the same id.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("tests/a.json"))
        let withoutTests = try PolicySourceSet(directory: folder.path)
        #expect(withoutTests.revision != before.revision)
        try "[]".write(to: folder.appendingPathComponent("tests/a.json"), atomically: true, encoding: .utf8)
        try #"{"max": 1}"#.write(to: folder.appendingPathComponent("settings.json"), atomically: true, encoding: .utf8)
        let withSettings = try PolicySourceSet(directory: folder.path)
        #expect(withSettings.revision != before.revision)
        #expect(withSettings.settings == ["max": 1])
        try FileManager.default.removeItem(at: folder.appendingPathComponent("settings.json"))
        try "return { max = 43 }".write(to: folder.appendingPathComponent("lib/limits.lua"), atomically: true, encoding: .utf8)
        let afterModule = try PolicySourceSet(directory: folder.path)
        #expect(before.revision != afterModule.revision)
        let revision = try PolicyRevision(sources: afterModule, logger: quietLogger)
        #expect(revision.holdLimit(goodRequest).decision.maxAmount == 43)
    }

    @Test func symlinksInThePolicyFolderAreNotModules() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "return {}".write(to: folder.appendingPathComponent("policy.lua"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("outside.lua").path, withDestinationPath: "/etc/hostname")
        let sources = try PolicySourceSet(directory: folder.path)
        #expect(sources.files.map(\.path) == ["policy.lua"])
    }

    @Test func concurrentEvaluationsEachGetTheirOwnAnswer() async throws {
        let revision = try makeRevision(Self.echoPolicy)
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var wrong = 0
                    for i in 0..<500 {
                        let amount = Int64(worker * 10_000 + i)
                        let client = "client-\(worker)-\(i)"
                        let decision = revision.holdLimit(.init(amount: amount, metadata: ["n": .integer(amount)], client: client)).decision
                        if decision.maxAmount != amount * 2 || decision.tier != client || decision.details?["metadata"]?["n"] != .integer(amount) {
                            wrong += 1
                        }
                    }
                    return wrong
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(revision.idleStateCount >= 1)
    }

    @Test func reloadKeepsTheLastGoodRevision() throws {
        let engine = try PolicyEngine(sources: makeSources(Self.echoPolicy), logger: quietLogger)
        let original = engine.revision
        #expect(original.holdLimit(.init(amount: 7)).decision.maxAmount == 14)

        #expect(throws: PolicyLoadError.self) { try engine.reload(sources: makeSources("function hold_limit(req) return {")) }
        #expect(engine.revision === original)
        do {
            try engine.reload(sources: makeSources("while true do end"))
            Issue.record("a policy that never finishes loading was accepted")
        } catch let error as PolicyLoadError {
            #expect(error.message.contains("instruction budget"))
        }
        #expect(engine.revision === original)

        let replacement = try engine.reload(sources: makeSources("function hold_limit(req) return { allow = true, max_amount = 3, tier = 'NEW' } end")).revision
        #expect(engine.revision === replacement)
        #expect(replacement.id != original.id)
        #expect(engine.revision.holdLimit(goodRequest).decision.maxAmount == 3)
        // A request that took the old revision before the swap finishes on it.
        #expect(original.holdLimit(.init(amount: 7)).decision.maxAmount == 14)
    }

    @Test func reloadOfUnchangedFilesKeepsTheRevision() throws {
        let engine = try PolicyEngine(sources: makeSources(Self.echoPolicy), logger: quietLogger)
        let first = engine.revision
        #expect(try engine.reload(sources: makeSources(Self.echoPolicy)).revision === first)
    }

    @Test func reloadFromAMissingFolderKeepsTheRevision() throws {
        let engine = try PolicyEngine(sources: makeSources(Self.echoPolicy), logger: quietLogger)
        let first = engine.revision
        #expect(throws: PolicyLoadError.self) { try engine.reload(from: "/nonexistent") }
        #expect(engine.revision === first)
    }

    @Test func reloadWhileEvaluatingNeverMixesRevisions() async throws {
        let policyA = "function hold_limit(req) return { allow = true, max_amount = 1, tier = 'A' } end"
        let policyB = "function hold_limit(req) return { allow = true, max_amount = 2, tier = 'B' } end"
        let engine = try PolicyEngine(sources: makeSources(policyA), logger: quietLogger)
        let mismatches = await withTaskGroup(of: Int.self) { group in
            group.addTask {
                for i in 0..<40 {
                    _ = try? engine.reload(sources: makeSources(i % 2 == 0 ? policyB : policyA))
                    _ = try? engine.reload(sources: makeSources("broken("))
                }
                return 0
            }
            for _ in 0..<2 {
                group.addTask {
                    var mismatches = 0
                    for _ in 0..<2000 {
                        let revision = engine.revision
                        let decision = revision.holdLimit(goodRequest).decision
                        let expectedTier = revision.id == (try? makeSources(policyA).revision) ? "A" : "B"
                        if decision.tier != expectedTier || (decision.maxAmount == 1) != (expectedTier == "A") { mismatches += 1 }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
