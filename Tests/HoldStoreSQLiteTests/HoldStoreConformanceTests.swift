import HoldStoreConformance
import Testing

@Suite("SQLiteHoldStore conformance")
struct HoldStoreConformanceTests {
    @Test("on a database file", arguments: HoldStoreConformance.checks)
    func conformsOnFile(_ check: HoldStoreCheck) async throws {
        try await withFreshStore { try await check.run($0) }
    }

    @Test("in memory", arguments: HoldStoreConformance.checks)
    func conformsInMemory(_ check: HoldStoreCheck) async throws {
        try await withStore(at: ":memory:") { try await check.run($0) }
    }
}
