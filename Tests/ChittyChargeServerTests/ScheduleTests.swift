import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import JSON
import MetricsTestKit
import PolicyEngine
import StripeEmulator
import Testing

@Suite("Scheduled capture and release (hold_schedule), with a clock the test moves")
struct ScheduleTests {
    /// The no-show fee: capture `metadata.no_show_fee` cents 24 h after `metadata.check_in`.
    static let noShowPolicy = """
        local release_rule = hold_schedule
        function hold_schedule(hold)
          local fee = tonumber(hold.metadata.no_show_fee)
          if fee then
            return { action = "capture", at = chitty.parse_time(hold.metadata.check_in) + 24 * 3600, amount = fee }
          end
          return release_rule(hold)
        end
        """

    /// The harness with a clock the test moves, and optionally some policy added.
    static func options(_ clock: ManualWallClock, policy: String? = nil) -> ServerHarness.Options {
        var options = ServerHarness.Options()
        options.clock = clock
        options.extraPolicy = policy
        return options
    }

    static func iso(_ date: Date) -> JSONValue { .string(date.formatted(Date.ISO8601FormatStyle())) }

    /// Reloads the harness's policy with each file's text changed by `edit(path, text)`.
    static func reload(_ harness: ServerHarness, edit: (String, String) -> String) throws -> PolicyRevision {
        var files: [String: String] = [:]
        for file in harness.policies.revision.sources.files {
            files[file.path] = edit(file.path, String(decoding: file.contents, as: UTF8.self))
        }
        return try harness.policies.reload(sources: PolicySourceSet(files: files)).revision
    }

    /// Places a hold, has the guest authorise it, and reads Stripe (which schedules it).
    static func capturableHold(_ harness: ServerHarness, metadata: [String: JSONValue], amount: Int = 20_000) async throws -> (id: String, json: JSONValue) {
        let created = try await harness.api.createHold(["amount": .integer(Int64(amount)), "description": "Deposit", "metadata": .object(metadata)])
        let id = try #require(created.json["id"]?.stringValue, "\(created.text)")
        #expect(try await harness.authorise(id).status == 200)
        let refreshed = try await harness.api.call(.GET, "/api/holds/\(id)?refresh=true")
        #expect(refreshed.json["status"] == "requires_capture")
        return (id, refreshed.json)
    }

    @Test func releaseHappensAtTheScheduledTimeOnce() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let checkOut = clock.now().addingTimeInterval(86_400).rounded()
            let (id, json) = try await Self.capturableHold(harness, metadata: ["check_out": Self.iso(checkOut)])
            let scheduled = try #require(json["scheduled_action"])
            #expect(scheduled["action"] == "release")
            #expect(scheduled["at"] == Self.iso(checkOut.addingTimeInterval(48 * 3600)))
            #expect(scheduled["revision"]?.stringValue == harness.policies.revision.id)
            #expect(json["flags"] == .array([]))
            #expect(await harness.holds.scheduler.runDue() == 0)
            clock.set(checkOut.addingTimeInterval(48 * 3600 + 1))
            #expect(await harness.holds.scheduler.runDue() == 1)
            #expect(await harness.holds.scheduler.runDue() == 0)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").count == 1)
            let hold = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(hold.json["status"] == "canceled")
            #expect(hold.json["scheduled_action"] == .null)
            let events = try await harness.api.call(.GET, "/api/holds/\(id)/events")
            if case .array(let items)? = events.json["data"] {
                #expect(items.contains { $0["kind"] == "scheduled_action" && $0["type"] == "chittycharge.scheduled_release" && $0["outcome"] == "applied" })
            } else {
                Issue.record("no events: \(events.text)")
            }
        }
    }

    @Test func noShowFeeIsCapturedAtTimeForItsAmount() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock, policy: Self.noShowPolicy)) { harness in
            let checkIn = clock.now().addingTimeInterval(3_600).rounded()
            let (id, json) = try await Self.capturableHold(harness, metadata: ["check_in": Self.iso(checkIn), "no_show_fee": "2500"])
            #expect(json["scheduled_action"]?["action"] == "capture")
            #expect(json["scheduled_action"]?["amount"] == 2_500)
            clock.set(checkIn.addingTimeInterval(24 * 3600))
            #expect(await harness.holds.scheduler.runDue() == 1)
            #expect(await harness.emulator.paymentIntent(id: id)?.amountReceived == 2_500)
            #expect(try await harness.store.hold(id: id)?.status == .succeeded)
        }
    }

    @Test func aManualCaptureRacingADueScheduledCaptureCapturesOnce() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock, policy: Self.noShowPolicy)) { harness in
            let checkIn = clock.now().rounded()
            let (id, _) = try await Self.capturableHold(harness, metadata: ["check_in": Self.iso(checkIn), "no_show_fee": "20000"])
            clock.set(checkIn.addingTimeInterval(24 * 3600 + 1))
            async let manual = harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 20_000])
            async let scheduled = harness.holds.scheduler.runDue()
            let (reply, _) = try await (manual, scheduled)
            #expect(reply.status == 200)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").filter { !$0.replayed }.count == 1)
            #expect(await harness.emulator.paymentIntent(id: id)?.amountReceived == 20_000)
            #expect(await harness.holds.scheduler.runDue() == 0)
        }
    }

    @Test func aManualReleaseCancelsThePendingSchedule() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let checkOut = clock.now().addingTimeInterval(86_400).rounded()
            let (id, _) = try await Self.capturableHold(harness, metadata: ["check_out": Self.iso(checkOut)])
            #expect(try await harness.api.call(.POST, "/api/holds/\(id)/cancel").status == 200)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["scheduled_action"] == .null)
            clock.set(checkOut.addingTimeInterval(49 * 3600))
            #expect(await harness.holds.scheduler.runDue() == 0)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").count == 1)
        }
    }

    @Test func aRestartBetweenSchedulingAndRunningStillRunsItOnce() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let checkOut = clock.now().rounded()
            let (id, _) = try await Self.capturableHold(harness, metadata: ["check_out": Self.iso(checkOut)])
            clock.set(checkOut.addingTimeInterval(48 * 3600 + 1))
            // "Restart": a new service over the same store finds the due action.
            let restarted = HoldServices(store: harness.store, gateway: harness.gateway, minter: harness.minter, policies: harness.policies,
                                        clock: clock, configuration: .init(recoveryGrace: 0), logger: ServerHarness.quietLogger)
            #expect(await restarted.scheduler.runDue() == 1)
            #expect(await harness.holds.scheduler.runDue() == 0)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").count == 1)
            #expect(try await harness.store.hold(id: id)?.status == .canceled)
        }
    }

    @Test func aPolicyReloadChangesAPendingAction() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let checkOut = clock.now().addingTimeInterval(86_400).rounded()
            let (id, json) = try await Self.capturableHold(harness, metadata: ["check_out": Self.iso(checkOut)])
            let firstRevision = try #require(json["scheduled_action"]?["revision"]?.stringValue)
            // The property manager shortens the release delay to 24 h.
            let reloaded = try Self.reload(harness) {
                $1.replacingOccurrences(of: "\"release_after_check_out_hours\": 48", with: "\"release_after_check_out_hours\": 24")
            }
            #expect(reloaded.id != firstRevision)
            #expect(await harness.holds.planner.reevaluate() == 1)
            let after = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(after.json["scheduled_action"]?["at"] == Self.iso(checkOut.addingTimeInterval(24 * 3600)))
            #expect(after.json["scheduled_action"]?["revision"]?.stringValue == reloaded.id)
            #expect(await harness.holds.planner.reevaluate() == 0)
        }
    }

    @Test func aReloadedPolicyThatFailsKeepsThePendingActionAndIsAskedOnce() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let checkOut = clock.now().addingTimeInterval(86_400).rounded()
            let (id, json) = try await Self.capturableHold(harness, metadata: ["check_out": Self.iso(checkOut)])
            let before = try #require(json["scheduled_action"])
            // Loads and passes its smoke test (a smaller hold), fails for this hold.
            _ = try Self.reload(harness) { path, text in
                path == "schedule.lua"
                    ? text.replacingOccurrences(of: "function M.decide(hold)", with: "function M.decide(hold)\n  if hold.amount == 20000 then error(\"broken rule\") end")
                    : text
            }
            #expect(await harness.holds.planner.reevaluate() == 1)
            #expect(await harness.holds.planner.reevaluate() == 0)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").json["scheduled_action"] == before)
        }
    }

    @Test func schedulerLoopsRacingEachOtherRunEachActionOnce() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let checkOut = clock.now().rounded()
            var ids: [String] = []
            for _ in 0..<6 { ids.append(try await Self.capturableHold(harness, metadata: ["check_out": Self.iso(checkOut)]).id) }
            clock.set(checkOut.addingTimeInterval(48 * 3600 + 1))
            // Two "processes" (services over one store), two loops each.
            let other = HoldServices(store: harness.store, gateway: harness.gateway, minter: harness.minter, policies: harness.policies,
                                    clock: clock, configuration: .init(recoveryGrace: 0), logger: ServerHarness.quietLogger)
            let finished = await withTaskGroup(of: Int.self) { group in
                for service in [harness.holds, harness.holds, other, other] {
                    group.addTask { await service.scheduler.runDue() }
                }
                var total = 0
                for await count in group { total += count }
                return total
            }
            #expect(finished == ids.count)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").filter { !$0.replayed }.count == ids.count)
            for id in ids {
                let entries = try await harness.store.webhookEvents(holdID: id).filter { $0.type == HoldHistoryEntryType.scheduledRelease }
                #expect(entries.count == 1, "\(id)")
            }
        }
    }

    @Test func aHoldWithNothingScheduledBeforeItsDeadlineIsFlagged() async throws {
        let metrics = TestMetrics()
        var options = ServerHarness.Options()
        options.metrics = metrics
        try await ServerHarness.run(options) { harness in
            let (_, json) = try await Self.capturableHold(harness, metadata: [:])
            #expect(json["scheduled_action"] == .null)
            #expect(json["flags"] == ["no_action_before_expiry"])
            #expect(try metrics.expectCounter("chittycharge_holds_flagged_total", [("reason", "no_action_before_expiry")]).totalValue == 1)
        }
    }
}

extension Date {
    /// Whole seconds, as policies see times.
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

@Suite("Reauthorizing a hold before Stripe's deadline")
struct ReauthorizationTests {
    /// Reauthorize a day before the deadline when the stay is long.
    static let longStayPolicy = """
        function hold_schedule(hold)
          if hold.metadata.long_stay and hold.capture_before then
            return { action = "reauthorize", at = chitty.parse_time(hold.capture_before) - 24 * 3600 }
          end
          return { action = "none" }
        end
        """

    static func options(_ clock: ManualWallClock) -> ServerHarness.Options {
        ScheduleTests.options(clock, policy: longStayPolicy)
    }

    static func runWhenDue(_ harness: ServerHarness, _ clock: ManualWallClock, holdID: String) async throws -> Int {
        let hold = try #require(try await harness.store.hold(id: holdID))
        let action = try #require(hold.scheduledAction)
        #expect(action.kind == .reauthorize)
        clock.set(action.at.addingTimeInterval(1))
        return await harness.holds.scheduler.runDue()
    }

    @Test func aSavedCardHoldIsReplacedByANewHoldThenReleased() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let created = try await harness.api.createHold([
                "amount": 40_000, "description": "Long stay", "customer": "cus_guest", "payment_method": "pm_card_visa",
                "metadata": ["long_stay": "yes"],
            ])
            #expect(created.status == 201, "\(created.text)")
            let oldID = try #require(created.json["id"]?.stringValue)
            #expect(created.json["scheduled_action"]?["action"] == "reauthorize")
            #expect(try await Self.runWhenDue(harness, clock, holdID: oldID) == 1)

            let old = try await harness.api.call(.GET, "/api/holds/\(oldID)")
            #expect(old.json["status"] == "canceled")
            let newID = try #require(old.json["replaced_by"]?.stringValue)
            let new = try await harness.api.call(.GET, "/api/holds/\(newID)")
            #expect(new.json["status"] == "requires_capture")
            #expect(new.json["amount_capturable"] == 40_000)
            #expect(new.json["replaces"]?.stringValue == oldID)
            // The new hold is asked about in turn: reauthorize again before its own deadline.
            #expect(new.json["scheduled_action"]?["action"] == "reauthorize")
            #expect(await harness.emulator.paymentIntents().count == 2)
            let create = try #require(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").last)
            #expect(create.params["off_session"] == "true")
            #expect(create.params["customer"] == "cus_guest")
            // Running again never acts on the old hold twice (the new one may come due in turn,
            // as its own deadline is only a moment later).
            _ = await harness.holds.scheduler.runDue()
            #expect(try await harness.store.hold(id: oldID)?.replacedBy == newID)
            let oldHistory = try await harness.store.webhookEvents(holdID: oldID).filter { $0.type == HoldHistoryEntryType.scheduledReauthorization }
            #expect(oldHistory.map(\.outcome) == [.applied])
            #expect(await harness.stripeCalls("POST", pathSuffix: "\(oldID)/cancel").count == 1)
        }
    }

    @Test func aHoldWithoutASavedCardIsLeftAndFlagged() async throws {
        let clock = ManualWallClock()
        try await ServerHarness.run(Self.options(clock)) { harness in
            let created = try await harness.api.createHold(["amount": 10_000, "description": "Long stay", "metadata": ["long_stay": "yes"]])
            let id = try #require(created.json["id"]?.stringValue)
            #expect(try await harness.authorise(id).status == 200)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)?refresh=true").json["scheduled_action"]?["action"] == "reauthorize")
            #expect(try await Self.runWhenDue(harness, clock, holdID: id) == 1)
            let hold = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(hold.json["status"] == "requires_capture")
            #expect(hold.json["replaced_by"] == .null)
            #expect(hold.json["flags"] == ["no_action_before_expiry"])
            let history = try await harness.store.webhookEvents(holdID: id).filter { $0.type == HoldHistoryEntryType.scheduledReauthorization }
            #expect(history.map(\.outcome) == [.failed])
            let detail = String(decoding: history.first?.payload ?? Data(), as: UTF8.self)
            #expect(detail.contains("reauthorization_impossible"), "\(detail)")
            #expect(await harness.emulator.paymentIntents().count == 1)
        }
    }

    @Test func aDeclinedReauthorizationLeavesTheOldHold() async throws {
        let clock = ManualWallClock()
        let metrics = TestMetrics()
        var options = Self.options(clock)
        options.metrics = metrics
        try await ServerHarness.run(options) { harness in
            // A card that needs the guest for authentication: fine with the guest present,
            // declined off-session (authentication_required).
            let created = try await harness.api.createHold([
                "amount": 30_000, "description": "Long stay", "customer": "cus_guest", "payment_method": "pm_card_authenticationRequired",
                "confirm": false, "metadata": ["long_stay": "yes"],
            ])
            let id = try #require(created.json["id"]?.stringValue, "\(created.text)")
            #expect(try await harness.authorise(id, paymentMethod: "pm_card_authenticationRequired").status == 200)
            #expect(try await harness.authorise(id, paymentMethod: "pm_card_authenticationRequired").status == 200)
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)?refresh=true").json["status"] == "requires_capture")
            #expect(try await Self.runWhenDue(harness, clock, holdID: id) == 1)
            let hold = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(hold.json["status"] == "requires_capture")
            #expect(hold.json["replaced_by"] == .null)
            #expect(hold.json["flags"] == ["no_action_before_expiry"])
            let history = try await harness.store.webhookEvents(holdID: id).filter { $0.type == HoldHistoryEntryType.scheduledReauthorization }
            #expect(history.map(\.outcome) == [.failed])
            let detail = String(decoding: history.first?.payload ?? Data(), as: UTF8.self)
            #expect(detail.contains("card_declined"), "\(detail)")
            let failures = try metrics.expectCounter("chittycharge_holds_flagged_total", [("reason", "reauthorization_failed")])
            #expect(failures.totalValue == 1)
            // The old hold is kept (the declined new intent itself is canceled, not tracked open).
            #expect(await harness.stripeCalls("POST", pathSuffix: "\(id)/cancel").isEmpty)
        }
    }
}
