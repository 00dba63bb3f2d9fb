import HoldStoreConformance
import ChittyChargeTestSupport
import HoldStorePostgres
import Testing

@Suite("PostgresHoldStore conformance")
struct PostgresConformanceTests {
    @Test("on PostgreSQL", arguments: HoldStoreConformance.checks)
    func conforms(_ check: HoldStoreCheck) async throws {
        try await TestPostgres.withFreshStore { try await check.run($0) }
    }
}
