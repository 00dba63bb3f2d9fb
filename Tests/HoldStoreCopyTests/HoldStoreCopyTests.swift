import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import HoldStoreCopy
import HoldStorePostgres
import HoldStoreSQLite
import Logging
import Testing

@Suite("db copy: SQLite into PostgreSQL", .serialized)
struct HoldStoreCopyTests {
    private static let logger = Logger(label: "test.copy") { _ in SwiftLogNoOpLogHandler() }
    private static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A SQLite store with a bit of everything, written through the store's own methods.
    private static func seed(_ path: String) async throws -> [String] {
        let store = try await SQLiteHoldStore.open(path: path, logger: logger)
        var ids: [String] = []
        for index in 0..<30 {
            let id = "pi_copy_\(index)"
            let at = t0.addingTimeInterval(Double(index))
            let operation = CreateOperation(
                key: "create-\(index)", client: "frontdesk", clientIdempotencyKey: "booking-\(index)", requestHash: "hash-\(index)",
                params: CreatePaymentIntentParams(amount: 10_000 + index, currency: "usd", description: "Security deposit",
                                                  metadata: ["unit": "\(index)", "note": "ünïcode ✓"]),
                tier: "standard", tierLimit: 50_000, policyRevision: "rev-1", propertyID: "prop_\(index % 3)", tenantID: nil,
                createdAt: at, updatedAt: at, clientMetadata: ["unit": .integer(Int64(index)), "no_show_fee": .bool(index % 2 == 0)])
            let decision = PolicyDecisionRecord(id: "decision-\(index)", hook: "hold_limit", revision: "rev-1", source: "policy",
                                                input: Data("{\"amount\":\(index)}".utf8), decision: Data([0, 1, 2, 255]), subject: nil, createdAt: at)
            _ = try await store.claimCreate(operation, decision: decision)
            let hold = Hold(
                id: id, chittyID: index % 2 == 0 ? "CHITTY-AUTH-\(index)" : nil, chittyIDStatus: index % 2 == 0 ? .minted : .pending,
                status: .requiresCapture, amount: 10_000 + index, amountCapturable: 10_000 + index, currency: "usd",
                description: "Security deposit", customerEmail: "guest\(index)@example.com", propertyID: "prop_\(index % 3)",
                tenantID: nil, metadata: ["unit": "\(index)", "note": "ünïcode ✓"], clientSecret: "\(id)_secret", client: "frontdesk",
                owner: "frontdesk", tier: "standard", tierLimit: 50_000, policyRevision: "rev-1", createOperationKey: operation.key,
                createdAt: at, updatedAt: at, captureBefore: at.addingTimeInterval(7 * 86_400),
                clientMetadata: operation.clientMetadata)
            try await store.completeCreate(key: operation.key, hold: hold)
            if index % 4 == 0 {
                let event = BookingEvent(holdID: id, eventID: "pms-\(index)", kind: .stayExtended, occurredAt: at,
                                         details: ["check_out": "2026-07-12", "nights": .integer(Int64(index))], client: "frontdesk", receivedAt: at)
                _ = try await store.recordBookingEvent(event)
                if index % 8 == 0 {
                    _ = try await store.setBookingEventOutcome(BookingEventOutcome(scheduledAction: nil, revision: "rev-1"), holdID: id, eventID: event.eventID)
                }
            }
            if index % 5 == 0 {
                try await store.setScheduledAction(ScheduledAction(kind: .release, at: at.addingTimeInterval(3_600), amount: nil, revision: "rev-1"), holdID: id)
            }
            if index % 7 == 0 {
                let capture = HoldOperation(key: "capture-\(index)", holdID: id, kind: .capture, amount: 500, createdAt: at, updatedAt: at)
                _ = try await store.claimOperation(capture)
            }
            _ = try await store.recordWebhookEvent(WebhookEventRecord(
                id: "evt_\(index)", type: "payment_intent.amount_capturable_updated", created: at, payload: Data("{\"i\":\(index)}".utf8),
                holdID: id, outcome: .applied, receivedAt: at), update: nil)
            ids.append(id)
        }
        try await store.recordOriginSighting(OriginSighting(day: "2026-07-01", origin: "https://app.chitty.cc", firstSeenAt: t0, allowed: true, revision: "rev-1"))
        try await store.recordPolicyActivation(PolicyRevisionRecord(
            id: "rev-1", directory: "/etc/chittycharge/policies", files: [.init(path: "policy.lua", contents: Data("-- rules".utf8))],
            activatedAt: t0, trigger: "startup"), keep: 10)
        try await store.close()
        return ids
    }

    private static func withSeededSource<T>(_ body: (String, [String]) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("holds.sqlite").path
        let ids = try await seed(path)
        return try await body(path, ids)
    }

    @Test func everythingReadsTheSameThroughThePostgreSQLStoreAndARepeatChangesNothing() async throws {
        try await Self.withSeededSource { path, ids in
            try await TestPostgres.withFreshDatabase { url in
                let settings = try PostgresConnectionSettings(url: url, poolSize: 2)
                let reports = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: false, logger: Self.logger)
                #expect(reports.map(\.table) == ["holds", "create_operations", "hold_operations", "chittyid_outbox", "policy_decisions",
                                                  "webhook_events", "booking_events", "origin_sightings", "policy_revisions"])
                #expect(reports.allSatisfy { $0.matches })
                #expect(reports.first { $0.table == "holds" }?.inserted == 30)
                #expect(reports.first { $0.table == "booking_events" }?.inserted == 8)

                let sqlite = try await SQLiteHoldStore.open(path: path, logger: Self.logger)
                let postgres = try await PostgresHoldStore.open(settings: settings, logger: Self.logger)
                for id in ids {
                    #expect(try await postgres.hold(id: id) == sqlite.hold(id: id))
                    #expect(try await postgres.webhookEvents(holdID: id) == sqlite.webhookEvents(holdID: id))
                    #expect(try await postgres.bookingEvents(holdID: id) == sqlite.bookingEvents(holdID: id))
                }
                let everything = HoldFilter(limit: 100)
                #expect(try await postgres.holds(matching: everything) == sqlite.holds(matching: everything))
                #expect(try await postgres.decisions(subject: "create-3") == sqlite.decisions(subject: "create-3"))
                #expect(try await postgres.decisions(since: nil, after: nil, limit: 100) == sqlite.decisions(since: nil, after: nil, limit: 100))
                #expect(try await postgres.pendingOperations() == sqlite.pendingOperations())
                #expect(try await postgres.policyRevisions(limit: 10) == sqlite.policyRevisions(limit: 10))
                #expect(try await postgres.originSightings(since: nil, limit: 10) == sqlite.originSightings(since: nil, limit: 10))
                let later = Self.t0.addingTimeInterval(86_400)
                #expect(try await postgres.holdsWithDueActions(at: later, limit: 100) == sqlite.holdsWithDueActions(at: later, limit: 100))
                #expect(try await postgres.claimMintJobs(at: later, leaseUntil: later, limit: 100) == sqlite.claimMintJobs(at: later, leaseUntil: later, limit: 100))
                try await sqlite.close()
                await postgres.close()

                let again = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: true, logger: Self.logger)
                #expect(again.allSatisfy { $0.matches && $0.inserted == 0 }, "\(again)")
            }
        }
    }

    @Test func aTargetWithRowsIsRefusedUnlessToldAndNothingIsWritten() async throws {
        try await Self.withSeededSource { path, _ in
            try await TestPostgres.withFreshDatabase { url in
                let settings = try PostgresConnectionSettings(url: url, poolSize: 2)
                _ = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: false, logger: Self.logger)
                try await TestPostgres.administer(url, "DELETE FROM webhook_events WHERE id = 'evt_3'")
                await #expect(throws: HoldStoreCopy.CopyError.targetNotEmpty(
                    ["holds": 30, "create_operations": 30, "hold_operations": 5, "chittyid_outbox": 15, "policy_decisions": 30,
                     "webhook_events": 29, "booking_events": 8, "origin_sightings": 1, "policy_revisions": 1])) {
                    _ = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: false, logger: Self.logger)
                }
                let connection = try await TestPostgres.connect(url)
                let left = try await connection.query("SELECT count(*) FROM webhook_events", logger: Self.logger).collect().first?.decode(Int.self)
                try await connection.close()
                #expect(left == 29, "the refused copy wrote nothing")
                // Told, it finishes the copy (the missing row comes back).
                let finished = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: true, logger: Self.logger)
                #expect(finished.first { $0.table == "webhook_events" }?.inserted == 1)
                #expect(finished.allSatisfy { $0.matches })
            }
        }
    }

    @Test func aTargetRowThatDiffersFailsVerificationNamingItsTable() async throws {
        try await Self.withSeededSource { path, _ in
            try await TestPostgres.withFreshDatabase { url in
                let settings = try PostgresConnectionSettings(url: url, poolSize: 2)
                _ = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: false, logger: Self.logger)
                try await TestPostgres.administer(url, "UPDATE holds SET amount = amount + 1 WHERE id = 'pi_copy_4'")
                await #expect {
                    _ = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: true, logger: Self.logger)
                } throws: { error in
                    guard case HoldStoreCopy.CopyError.verificationFailed(let reports) = error else { return false }
                    return reports.filter { !$0.matches }.map(\.table) == ["holds"] && "\(error)".contains("holds (rows 30 → 30, checksum different)")
                }
            }
        }
    }

    @Test func aMissingSourceIsNamed() async throws {
        let settings = try PostgresConnectionSettings(url: "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
        await #expect(throws: HoldStoreCopy.CopyError.sourceMissing("/nonexistent/holds.sqlite")) {
            _ = try await HoldStoreCopy.copy(fromSQLite: "/nonexistent/holds.sqlite", to: settings, allowNonEmptyTarget: false, logger: Self.logger)
        }
    }
}
