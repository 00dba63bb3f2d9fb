import ChittyCharge
import Foundation
import SQLiteNIO
import Testing
@testable import HoldStoreSQLite

/// Schema version 5 gives a running scheduled action an owner and a lease. An action left
/// running by a version-4 build has neither: any scheduler takes it over at once, as
/// version 4's did after a crash.
@Suite("SQLiteHoldStore schedule lease migration")
struct ScheduleLeaseMigrationTests {
    @Test("an action left running by a version-4 build is taken over at once")
    func version4RunningActionIsTakenOver() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let version4 = Array(HoldStoreSchema.migrations.prefix { $0.version <= 4 })
        let old = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger, readerCount: 1, migrations: version4)
        let at = SQLiteHoldStoreTests.createdAt
        do {
            try await old.claimCreateAsBeforeVersion8(SQLiteHoldStoreTests.operation(key: "op-1"))
            try await old.completeCreateAsBeforeVersion6(hold: SQLiteHoldStoreTests.hold(id: "pi_1", operationKey: "op-1"))
            try await old.writer.exclusive { db in
                try await db.execute("""
                    UPDATE holds SET scheduled_action = 'release', scheduled_at = ?, scheduled_revision = 'rev-1',
                        scheduled_state = 'running' WHERE id = 'pi_1'
                    """, [SQLiteData(at)])
            }
            try await old.close()
        } catch {
            try? await old.close()
            throw error
        }

        try await withStore(at: database.path) { store in
            let running = try #require(try await store.hold(id: "pi_1")?.scheduledAction)
            #expect(running.state == .running)
            #expect(running.lease == nil)
            let lease = ScheduledAction.Lease(owner: "restarted", until: at.addingTimeInterval(300))
            #expect(try await store.claimScheduledAction(running, holdID: "pi_1", lease: lease, at: at))
            #expect(try await store.hold(id: "pi_1")?.scheduledAction?.lease == lease)
        }
    }
}
