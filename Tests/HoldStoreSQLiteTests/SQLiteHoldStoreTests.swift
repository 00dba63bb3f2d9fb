import ChittyCharge
import Foundation
import Testing
@testable import HoldStoreSQLite

@Suite("SQLiteHoldStore")
struct SQLiteHoldStoreTests {
    static let createdAt = Date(timeIntervalSince1970: 1_780_000_000.123)

    static func operation(key: String) -> CreateOperation {
        CreateOperation(
            key: key, client: "frontdesk", clientIdempotencyKey: "idem-\(key)", requestHash: "hash",
            params: CreatePaymentIntentParams(amount: 5_000, currency: "usd", description: "Deposit", metadata: ["unit": "7"]),
            tier: "standard", tierLimit: 50_000, policyRevision: "rev-1", propertyID: "prop-1", tenantID: nil,
            createdAt: createdAt, updatedAt: createdAt)
    }

    static func hold(id: String, operationKey: String) -> Hold {
        Hold(
            id: id, status: .requiresCapture, amount: 5_000, amountCapturable: 5_000, currency: "usd",
            description: "Deposit", propertyID: "prop-1", metadata: ["unit": "7"], client: "frontdesk", tier: "standard",
            tierLimit: 50_000, policyRevision: "rev-1", createOperationKey: operationKey, createdAt: createdAt,
            updatedAt: createdAt)
    }

    @Test("data survives closing and reopening the file")
    func survivesReopen() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let operation = Self.operation(key: "op-1")
        let hold = Self.hold(id: "pi_1", operationKey: "op-1")
        let decision = PolicyDecisionRecord(
            id: "d-1", hook: "hold_limit", revision: "rev-1", source: "policy", input: Data("{}".utf8),
            decision: Data(#"{"allow":true}"#.utf8), subject: "op-1", createdAt: Self.createdAt)
        try await withStore(at: database.path) { store in
            _ = try await store.claimCreate(operation)
            try await store.completeCreate(key: "op-1", hold: hold)
            try await store.recordDecision(decision)
        }
        try await withStore(at: database.path) { store in
            let storedHold = try await store.hold(id: "pi_1")
            let storedOperation = try await store.createOperation(key: "op-1")
            let decisions = try await store.decisions(subject: "op-1")
            let mintJobs = try await store.operationalGauges(at: Date(), overdueAfter: 60, expiryMargin: 0).chittyIDOutboxDepth
            #expect(storedHold == hold)
            #expect(storedOperation?.state == .succeeded)
            #expect(decisions == [decision])
            #expect(mintJobs == 1)
        }
    }

    @Test("the hold cache never serves a hold older than the last finished write")
    func cacheFollowsEveryWrite() async throws {
        try await withFreshStore { store in
            _ = try await store.claimCreate(Self.operation(key: "op-1"))
            try await store.completeCreate(key: "op-1", hold: Self.hold(id: "pi_1", operationKey: "op-1"))
            // Readers keep filling the cache while the writes happen.
            let readers = Task {
                while !Task.isCancelled { _ = try? await store.hold(id: "pi_1") }
            }
            for amount in 1...150 {
                var hold = try #require(try await store.hold(id: "pi_1"))
                hold.amountCapturable = amount
                try await store.updateHold(hold)
                #expect(try await store.hold(id: "pi_1")?.amountCapturable == amount)
            }
            try await store.recordMinted(holdID: "pi_1", chittyID: "CHITTY-1", at: Self.createdAt)
            #expect(try await store.hold(id: "pi_1")?.chittyID == "CHITTY-1")
            let capture = HoldOperation(key: "cap-1", holdID: "pi_1", kind: .capture, amount: 150, createdAt: Self.createdAt, updatedAt: Self.createdAt)
            _ = try await store.claimOperation(capture)
            var captured = try #require(try await store.hold(id: "pi_1"))
            captured.status = .succeeded
            try await store.completeOperation(key: "cap-1", hold: captured, receipt: HoldOperationReceipt(.capture, for: captured, at: Self.createdAt), at: Self.createdAt)
            #expect(try await store.hold(id: "pi_1")?.status == .succeeded)
            readers.cancel()
            await readers.value
        }
    }

    @Test("closing waits for reads still running and refuses new ones")
    func closeWaitsForReadsInFlight() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger)
        _ = try await store.claimCreate(Self.operation(key: "op-1"))
        try await store.completeCreate(key: "op-1", hold: Self.hold(id: "pi_1", operationKey: "op-1"))
        // Readers that bypass the cache (a listing) keep statements running on the pool
        // while the store closes; closing under them crashed the process before.
        let readers = (0..<4).map { _ in
            Task {
                var refused = 0
                while refused == 0 {
                    do { _ = try await store.holds(matching: HoldFilter(limit: 10)) } catch { refused += 1 }
                }
                return refused
            }
        }
        try await Task.sleep(for: .milliseconds(20))
        try await store.close()
        for reader in readers {
            #expect(await reader.value == 1)
        }
        await #expect(throws: HoldStoreError.self) { _ = try await store.hold(id: "pi_1") }
    }

    @Test("migrations run once and are recorded; reopening applies nothing again")
    func migrationsAreIdempotent() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let first = try await withStore(at: database.path) { try await $0.appliedMigrations() }
        #expect(first.map(\.version) == Array(1...SQLiteHoldStore.supportedSchemaVersion))
        #expect(first.allSatisfy { !$0.name.isEmpty })
        let second = try await withStore(at: database.path) { try await $0.appliedMigrations() }
        #expect(second == first, "reopening must not re-run or re-record a migration")
    }

    @Test("the file is in WAL mode")
    func walModeIsOn() async throws {
        let journalMode = try await withFreshStore { try await $0.journalMode() }
        #expect(journalMode == "wal")
    }

    @Test("a file from a newer schema version is refused with a clear error")
    func newerSchemaIsRefused() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let supported = SQLiteHoldStore.supportedSchemaVersion
        // A newer build migrated the file one step further.
        let future = HoldStoreSchema.migrations + [
            SchemaMigration(version: supported + 1, name: "from the future", statements: ["CREATE TABLE future_things (id TEXT) STRICT"]),
        ]
        let newer = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger, readerCount: 1, migrations: future)
        try await newer.close()

        let error = await #expect(throws: SQLiteHoldStoreError.self) {
            try await withStore(at: database.path) { _ in }
        }
        #expect(error == .schemaTooNew(found: supported + 1, supported: supported))
        #expect(error?.description.contains("newer") == true)
    }

    @Test("a migration that fails leaves the file at its previous version")
    func failedMigrationRollsBack() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let broken = HoldStoreSchema.migrations + [
            SchemaMigration(version: SQLiteHoldStore.supportedSchemaVersion + 1, name: "broken", statements: [
                "CREATE TABLE half_done (id TEXT) STRICT",
                "THIS IS NOT SQL",
            ]),
        ]
        await #expect(throws: SQLiteHoldStoreError.self) {
            _ = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger, readerCount: 1, migrations: broken)
        }
        // The first migration went in the same transaction, so nothing at all was applied;
        // a good build then migrates the file normally.
        let applied = try await withStore(at: database.path) { try await $0.appliedMigrations() }
        #expect(applied.map(\.version) == Array(1...SQLiteHoldStore.supportedSchemaVersion))
    }

    @Test("a damaged row is reported as a database error, not a crash")
    func damagedRowIsAnError() async throws {
        try await withFreshStore { store in
            _ = try await store.claimCreate(Self.operation(key: "op-1"))
            try await store.completeCreate(key: "op-1", hold: Self.hold(id: "pi_1", operationKey: "op-1"))
            try await store.writer.exclusive { db in
                try await db.execute("UPDATE holds SET metadata = 'not json' WHERE id = 'pi_1'")
            }
            let error = await #expect(throws: HoldStoreError.self) {
                try await store.hold(id: "pi_1")
            }
            guard case .database(let message) = error else {
                Issue.record("expected HoldStoreError.database, got \(String(describing: error))")
                return
            }
            #expect(message.contains("metadata"))
        }
    }

    @Test("closing twice is harmless, and a closed store refuses calls")
    func closedStoreRefusesCalls() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger)
        try await store.close()
        try await store.close()
        await #expect(throws: HoldStoreError.self) {
            try await store.hold(id: "pi_1")
        }
        await #expect(throws: HoldStoreError.self) {
            try await store.recordDecision(PolicyDecisionRecord(
                id: "d-1", hook: "hold_limit", revision: "rev-1", source: "policy", input: Data(), decision: Data(),
                subject: nil, createdAt: Self.createdAt))
        }
    }
}
