import ChittyCharge
import Foundation
import Testing
@testable import HoldStoreSQLite

@Suite("One server per SQLite file")
struct SingleServerLockTests {
    @Test func aSecondServerOnTheSameFileIsRefusedAndPointedToPostgreSQL() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        _ = try await withStore(at: database.path) { _ in
            await #expect {
                _ = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger)
            } throws: { error in
                guard case SQLiteHoldStoreError.inUseByAnotherProcess(let path, let lockFile) = error else { return false }
                let message = "\(error)"
                return path == database.path && lockFile == database.path + ".lock" && message.contains("PostgreSQL")
            }
        }
        // Released on close: the next server opens it.
        let found = try await withStore(at: database.path) { store in try await store.hold(id: "pi_none") }
        #expect(found == nil)
    }

    @Test func aReaderBesideTheServerTakesNoLock() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        _ = try await withStore(at: database.path) { _ in
            let reader = try await SQLiteHoldStore.open(path: database.path, logger: quietLogger, readerCount: 1, serving: false)
            #expect(try await reader.policyRevisions(limit: 1).isEmpty)
            try await reader.close()
        }
    }

    @Test func inMemoryStoresShareNoFileAndTakeNoLock() async throws {
        let found = try await withStore(at: ":memory:") { _ in
            try await withStore(at: ":memory:") { store in try await store.hold(id: "pi_none") }
        }
        #expect(found == nil)
    }
}
