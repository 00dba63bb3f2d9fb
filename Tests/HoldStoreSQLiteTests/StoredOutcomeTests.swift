import ChittyCharge
import Foundation
import SQLiteNIO
import Testing
@testable import HoldStoreSQLite

/// Until schema version 6 an operation's outcome was kept as an HTTP status and the
/// response body, and creates were claimed and completed through a view and triggers.
/// Rows written then must read as the domain values they were (a retry of an old request
/// gets the answer its first attempt got), and the rules must hold without the triggers.
@Suite("SQLiteHoldStore stored outcomes")
struct StoredOutcomeTests {
    /// The exact bytes the previous build wrote for a declined card.
    static let oldDeclineBody = #"{"code":"card_declined","details":{"decline_code":"insufficient_funds","stripe_code":"card_declined","stripe_message":"Your card has insufficient funds.","stripe_type":"card_error"},"error":"The card was declined: Your card has insufficient funds."}"#
    /// And for a capture.
    static let oldCaptureBody = #"{"amount_captured":5000,"amount_remaining":0,"captured_at":"2026-05-28T20:26:40Z","estimated_processing_fee":175,"id":"pi_1","processing_fee_note":"Estimate at Stripe's standard US card rate (2.9% + 30 cents); the actual fee is on the Stripe balance transaction","status":"succeeded"}"#

    @Test("a version-5 file migrates: its outcomes read as domain values, and creates complete in Swift")
    func version5FileMigrates() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let version5 = Array(HoldStoreSchema.migrations.prefix { $0.version <= 5 })
        let old = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger, readerCount: 1, migrations: version5)
        let capture = HoldOperation(key: "cap-1", holdID: "pi_1", kind: .capture, amount: 5_000,
                                    createdAt: SQLiteHoldStoreTests.createdAt, updatedAt: SQLiteHoldStoreTests.createdAt)
        do {
            try await old.claimCreateAsBeforeVersion8(SQLiteHoldStoreTests.operation(key: "op-declined"))
            try await old.claimCreateAsBeforeVersion8(SQLiteHoldStoreTests.operation(key: "op-1"))
            try await old.completeCreateAsBeforeVersion6(hold: SQLiteHoldStoreTests.hold(id: "pi_1", operationKey: "op-1"))
            _ = try await old.claimOperation(capture)
            // What the version-5 build wrote when these failed and succeeded.
            try await old.writer.exclusive { db in
                try await db.execute(
                    "UPDATE create_operations SET state = 'failed', failure_status = 402, failure_body = ? WHERE key = 'op-declined'",
                    [.blob(ByteBuffer(string: Self.oldDeclineBody))])
                try await db.execute(
                    "UPDATE hold_operations SET state = 'succeeded', response_status = 200, response_body = ? WHERE key = 'cap-1'",
                    [.blob(ByteBuffer(string: Self.oldCaptureBody))])
            }
            try await old.close()
        } catch {
            try? await old.close()
            throw error
        }

        try await withStore(at: database.path) { store in
            #expect(try await store.appliedMigrations().map(\.version).last == SQLiteHoldStore.supportedSchemaVersion)
            let declined = try #require(try await store.createOperation(key: "op-declined"))
            #expect(declined.failure == HoldServiceError(.cardDeclined, "The card was declined: Your card has insufficient funds.", details: [
                "decline_code": "insufficient_funds", "stripe_code": "card_declined",
                "stripe_message": "Your card has insufficient funds.", "stripe_type": "card_error",
            ]))
            guard case .existing(let stored) = try await store.claimOperation(capture), case .captured(let receipt) = stored.receipt else {
                Issue.record("the old capture did not read back as a captured receipt")
                return
            }
            #expect(receipt.id == "pi_1")
            #expect(receipt.amountCaptured == 5_000)
            #expect(receipt.estimatedProcessingFee == 175)
            #expect(receipt.capturedAt == Date(timeIntervalSince1970: 1_780_000_000))

            // Completing a create now marks it succeeded and queues the mint job in Swift,
            // once, as the dropped triggers did.
            _ = try await store.claimCreate(SQLiteHoldStoreTests.operation(key: "op-2"))
            try await store.completeCreate(key: "op-2", hold: SQLiteHoldStoreTests.hold(id: "pi_2", operationKey: "op-2"))
            try await store.completeCreate(key: "op-2", hold: SQLiteHoldStoreTests.hold(id: "pi_2", operationKey: "op-2"))
            #expect(try await store.createOperation(key: "op-2")?.state == .succeeded)
            #expect(try await store.createOperation(key: "op-2")?.holdID == "pi_2")
            // pi_1's job was queued by version 5's trigger; pi_2's by this build, once.
            #expect(try await store.claimMintJobs(at: .distantFuture, leaseUntil: .distantFuture, limit: 10).map(\.holdID).sorted() == ["pi_1", "pi_2"])
        }
    }

    @Test("a body that is not a stored outcome is a database error, not a wrong answer")
    func unreadableOutcomeIsADatabaseError() async throws {
        try await withFreshStore { store in
            _ = try await store.claimCreate(SQLiteHoldStoreTests.operation(key: "op-1"))
            try await store.writer.exclusive { db in
                try await db.execute(
                    "UPDATE create_operations SET state = 'failed', failure_body = ? WHERE key = 'op-1'",
                    [.blob(ByteBuffer(string: #"{"code":"no_such_kind","error":"?"}"#))])
            }
            await #expect(throws: HoldStoreError.self) { _ = try await store.createOperation(key: "op-1") }
        }
    }
}
