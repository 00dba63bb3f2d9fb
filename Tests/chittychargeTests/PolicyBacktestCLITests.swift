import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import HoldStoreSQLite
import JSON
import Logging
import PolicyEngine
import Testing

/// Drives `chittycharge policy backtest` against a store seeded with decisions the shipped
/// policy made, as an operator would before activating a changed folder.
@Suite struct PolicyBacktestCLITests {
    let cli = PolicyCLITests()

    static let dayOne = Date(timeIntervalSince1970: 1_772_452_800)  // 2026-03-02T12:00:00Z
    static let dayTwo = dayOne.addingTimeInterval(86_400)

    /// A copy of the shipped policy folder with `file` edited.
    func candidateFolder(editing file: String = "tiers.lua", _ edit: (String) throws -> String) throws -> String {
        try ShippedPolicy.copy { name, text in name == file ? try edit(text) : text }
    }

    func lowerNewGuestLimit() throws -> String {
        try candidateFolder(editing: "settings.json") { text in
            try ShippedPolicy.replacing("\"NEW_GUEST\": 250000", with: "\"NEW_GUEST\": 150000", in: text)
        }
    }

    /// A store with the shipped policy's decisions on a new guest's 200,000 (allowed) and
    /// 300,000 (refused) on day one, a verified guest's 400,000 on day two, and one
    /// hold_schedule decision on day two. Returns the database file.
    func seededDatabase() async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-backtest-\(UUID()).sqlite").path
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = try await SQLiteHoldStore.open(path: path, logger: quiet)
        do {
            let shipped = try PolicyRevision(sources: PolicySourceSet(directory: PolicyCLITests.policies), logger: quiet)
            let requests: [(String, Int64, String, Date)] = [
                ("op-new-200k", 200_000, "NEW_GUEST", Self.dayOne),
                ("op-new-300k", 300_000, "NEW_GUEST", Self.dayOne.addingTimeInterval(1)),
                ("op-verified-400k", 400_000, "VERIFIED_GUEST", Self.dayTwo),
            ]
            // The request behind the first decision, refused by Stripe (so no hold): the
            // report names it by its client and Idempotency-Key rather than our key.
            _ = try await store.claimCreate(CreateOperation(
                key: "op-new-200k", client: "frontdesk", clientIdempotencyKey: "booking-200k", requestHash: "h",
                params: CreatePaymentIntentParams(amount: 200_000, currency: "usd", description: "Deposit"), tier: "NEW_GUEST",
                tierLimit: 250_000, policyRevision: "r", propertyID: nil, tenantID: nil, createdAt: Self.dayOne, updatedAt: Self.dayOne))
            for (subject, amount, tier, at) in requests {
                let input: JSONValue = ["amount": .integer(amount), "currency": "usd", "description": "Deposit",
                                          "metadata": ["guest_tier": .string(tier)], "client": "frontdesk"]
                let evaluation = shipped.evaluate(.holdLimit, input: input)
                try await store.recordDecision(PolicyDecisionRecord(
                    id: UUID().uuidString.lowercased(), hook: "hold_limit", revision: evaluation.revision, source: evaluation.source.rawValue,
                    input: input.jsonData, decision: evaluation.decision.jsonData, subject: subject, createdAt: at))
            }
            let hold: JSONValue = ["id": "pi_1", "amount": 400_000, "currency": "usd", "status": "requires_capture",
                                     "created_at": "2026-03-03T12:00:00Z", "metadata": ["check_out": "2026-03-05"]]
            let schedule = shipped.evaluate(.holdSchedule, input: hold)
            try await store.recordDecision(PolicyDecisionRecord(
                id: UUID().uuidString.lowercased(), hook: "hold_schedule", revision: schedule.revision, source: schedule.source.rawValue,
                input: hold.jsonData, decision: schedule.decision.jsonData, subject: "pi_1", createdAt: Self.dayTwo.addingTimeInterval(1)))
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return path
    }

    @Test func printsCountsByHookAndKindThenExamples() async throws {
        let database = try await seededDatabase()
        let result = try await cli.run(["policy", "backtest", "--dir", try lowerNewGuestLimit(), "--database-url", "sqlite://" + database])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func count(_ kind: String, after heading: String) -> String? {
            guard let start = lines.firstIndex(where: { $0.hasPrefix(heading) }) else { return nil }
            return lines[start...].first { $0.hasPrefix("  \(kind) ") }?.split(separator: " ").last.map(String.init)
        }
        #expect(lines.first?.hasPrefix("Backtest of candidate revision ") == true)
        #expect(lines.contains("hold_limit: 3 replayed, 1 would change"), "\(result.stdout)")
        #expect(count("newly_refused", after: "hold_limit:") == "1")
        #expect(count("unchanged", after: "hold_limit:") == "2")
        #expect(lines.contains("hold_schedule: 1 replayed, 0 would change"))
        #expect(count("unchanged", after: "hold_schedule:") == "1")
        // The example: which decision, what was stored and what the candidate decides.
        #expect(lines.contains("hold_limit newly_refused (1 of 1):"))
        let example = try #require(lines.firstIndex { $0.contains("Idempotency-Key booking-200k") }, "\(result.stdout)")
        #expect(lines[example].hasPrefix("  2026-03-02 12:00 UTC  request without a hold (client frontdesk, Idempotency-Key booking-200k)  (stored by "))
        #expect(lines[example + 1] == "    $2,000.00 (NEW_GUEST)")
        #expect(lines[example + 2] == "    was: allowed, NEW_GUEST limit $2,500.00")
        #expect(lines[example + 3] == "    now: refused, NEW_GUEST limit $1,500.00")
        // The money first, then the totals per tier.
        #expect(lines.contains("Money impact: $0.00 newly allowed (0 holds), $2,000.00 newly refused (1 holds), $0.00 in scheduled captures"),
                "\(result.stdout)")
        let byTier = try #require(lines.firstIndex(of: "hold_limit by tier (as stored):"))
        #expect(lines[byTier + 1].hasPrefix("  NEW_GUEST     2 replayed, 1 would change; 1 newly refused ($2,000.00)"), "\(lines[byTier + 1])")
    }

    @Test func printsTheSameAsJSONAndFiltersBySince() async throws {
        let database = try await seededDatabase()
        let candidate = try lowerNewGuestLimit()
        let all = try await cli.run(["policy", "backtest", "--dir", candidate, "--database-url", "sqlite://" + database, "--json"])
        #expect(all.status == 0, "\(all.stderr)")
        let summary = try cli.json(all.stdout)
        #expect(summary["replayed"] as? Int == 4)
        let hooks = try #require(summary["hooks"] as? [String: Any])
        let limit = try #require(hooks["hold_limit"] as? [String: Any])
        #expect(limit["counts"] as? [String: Int] == [
            "newly_refused": 1, "newly_allowed": 0, "different_limit": 0, "candidate_error": 0, "unreadable": 0, "unchanged": 2,
        ])
        let examples = try #require((limit["examples"] as? [String: Any])?["newly_refused"] as? [[String: Any]])
        #expect(examples.first?["subject"] as? String == "op-new-200k")

        let sinceDayTwo = try await cli.run(["policy", "backtest", "--dir", candidate, "--database-url", "sqlite://" + database,
                                       "--since", "2026-03-03", "--json"])
        #expect(sinceDayTwo.status == 0, "\(sinceDayTwo.stderr)")
        let later = try cli.json(sinceDayTwo.stdout)
        #expect(later["replayed"] as? Int == 2)
        #expect(later["since"] as? String == "2026-03-03T00:00:00.000Z")
        #expect(((later["hooks"] as? [String: Any])?["hold_limit"] as? [String: Any])?["changed"] as? Int == 0)
    }

    @Test func aCandidateThatDoesNotCompileExitsOneWithFileAndLine() async throws {
        let database = try await seededDatabase()
        let broken = try candidateFolder { _ in "local M = {}\nM.LIMITS = {\n\nreturn M\n" }
        let result = try await cli.run(["policy", "backtest", "--dir", broken, "--database-url", "sqlite://" + database])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("tiers.lua:4:"), "\(result.stderr)")
    }

    @Test func aBadSinceSaysWhichFormatsAreAccepted() async throws {
        let database = try await seededDatabase()
        let result = try await cli.run(["policy", "backtest", "--dir", PolicyCLITests.policies, "--database-url", "sqlite://" + database,
                                  "--since", "last tuesday"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--since 'last tuesday' is not a date"), "\(result.stderr)")
        #expect(result.stderr.contains("ISO-8601 date (2026-01-31"))
    }

    @Test func aMissingDatabaseIsAnErrorAndIsNotCreated() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("cli-backtest-missing-\(UUID()).sqlite").path
        let result = try await cli.run(["policy", "backtest", "--dir", PolicyCLITests.policies, "--database-url", "sqlite://" + missing])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no database file at '\(missing)'"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func readsTheDatabaseFromDATABASE_URL() async throws {
        let database = try await seededDatabase()
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = "sqlite://" + database
        let result = try await ChildProcess.run(
            PolicyCLITests.executable, ["policy", "backtest", "--dir", try lowerNewGuestLimit(), "--json"], environment: environment)
        #expect(result.status == 0)
        #expect(try cli.json(result.stdout)["replayed"] as? Int == 4)
    }
}
