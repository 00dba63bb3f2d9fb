import ChittyCharge
import ChittyChargeTestSupport
import Foundation
import HoldStorePostgres
import Testing

@Suite("PostgreSQL rate-limit ledger")
struct RateLimitLedgerTests {
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func leasesGrantUpToTheLimitPerWindowThenNothingUntilANewWindow() async throws {
        try await TestPostgres.withFreshStore { store in
            let first = try await store.leaseQuota(key: "frontdesk", limit: 10, window: 60, requested: 4, at: start)
            #expect(first == RateLimitLease(granted: 4, windowStart: start, windowEnd: start.addingTimeInterval(60), grantedInWindow: 4))
            let second = try await store.leaseQuota(key: "frontdesk", limit: 10, window: 60, requested: 4, at: start.addingTimeInterval(10))
            #expect(second.granted == 4 && second.grantedInWindow == 8 && second.windowStart == start, "the same window goes on")
            let third = try await store.leaseQuota(key: "frontdesk", limit: 10, window: 60, requested: 4, at: start.addingTimeInterval(20))
            #expect(third.granted == 2 && third.grantedInWindow == 10, "only what is left of the limit")
            let fourth = try await store.leaseQuota(key: "frontdesk", limit: 10, window: 60, requested: 4, at: start.addingTimeInterval(30))
            #expect(fourth.granted == 0 && fourth.grantedInWindow == 10)
            let other = try await store.leaseQuota(key: "kiosk", limit: 10, window: 60, requested: 1, at: start.addingTimeInterval(30))
            #expect(other.granted == 1, "another key has its own window")
            let next = try await store.leaseQuota(key: "frontdesk", limit: 10, window: 60, requested: 4, at: start.addingTimeInterval(60))
            #expect(next == RateLimitLease(granted: 4, windowStart: start.addingTimeInterval(60), windowEnd: start.addingTimeInterval(120),
                                           grantedInWindow: 4), "a new window starts once the last one ended")
        }
    }

    @Test func concurrentLeasesNeverGrantMoreThanTheLimit() async throws {
        try await TestPostgres.withFreshStore(poolSize: 8) { store in
            let granted = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await store.leaseQuota(key: "frontdesk", limit: 25, window: 60, requested: 1, at: start).granted }
                }
                return try await group.reduce(0, +)
            }
            #expect(granted == 25)
        }
    }
}
