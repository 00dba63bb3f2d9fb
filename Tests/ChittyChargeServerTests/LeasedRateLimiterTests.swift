import ChittyCharge
import ChittyChargeServer
import Foundation
import Synchronization
import Testing

/// The ledger's contract kept in memory, shared by several limiters as instances share
/// the database; it counts the leases it was asked for.
private final class MemoryLedger: RateLimitLedger {
    private struct Window { var start: Date; var end: Date; var granted: Int64 }
    private let windows = Mutex<[String: Window]>([:])
    let calls = Atomic<Int>(0)
    let failing = Atomic<Bool>(false)

    struct Unreachable: Error {}

    func leaseQuota(key: String, limit: Int64, window: Int64, requested: Int64, at now: Date) async throws -> RateLimitLease {
        calls.add(1, ordering: .relaxed)
        if failing.load(ordering: .relaxed) { throw Unreachable() }
        return windows.withLock { windows in
            var current = windows[key] ?? Window(start: now, end: now.addingTimeInterval(TimeInterval(window)), granted: 0)
            if current.end <= now { current = Window(start: now, end: now.addingTimeInterval(TimeInterval(window)), granted: 0) }
            let grant = max(0, min(requested, limit - current.granted))
            current.granted += grant
            windows[key] = current
            return RateLimitLease(granted: grant, windowStart: current.start, windowEnd: current.end, grantedInWindow: current.granted)
        }
    }
}

private final class TestClock: Sendable {
    let seconds = Mutex<Double>(1_800_000_000)
    var now: Date { Date(timeIntervalSince1970: seconds.withLock { $0 }) }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

@Suite("Rate limits leased from a shared ledger")
struct LeasedRateLimiterTests {
    @Test func aLimitOfTenSpreadOverThreeInstancesAdmitsExactlyTen() async throws {
        let ledger = MemoryLedger()
        let instances = (0..<3).map { _ in LeasedRateLimiter(ledger: ledger) }
        var admitted = 0
        for request in 0..<16 {
            if try await instances[request % 3].record(key: "frontdesk", limit: 10, window: 60).allowed { admitted += 1 }
        }
        #expect(admitted == 10)
        for instance in instances {
            #expect(try await instance.record(key: "frontdesk", limit: 10, window: 60).allowed == false)
        }
    }

    @Test func aHighLimitCostsOneLedgerCallPerChunkNotPerRequest() async throws {
        let ledger = MemoryLedger()
        let instances = (0..<2).map { _ in LeasedRateLimiter(ledger: ledger) }
        var admitted = 0
        for request in 0..<1_000 {
            if try await instances[request % 2].record(key: "kiosk", limit: 1_000, window: 60).allowed { admitted += 1 }
        }
        #expect(LeasedRateLimiter.chunk(for: 1_000) == 10)
        // Each instance leases 10 at a time: about 1,000 / 10 calls, and at most
        // 2 × (10 − 1) requests left unadmitted on leases the other instance holds.
        #expect(ledger.calls.load(ordering: .relaxed) <= 102, "\(ledger.calls.load(ordering: .relaxed)) ledger calls")
        #expect(admitted <= 1_000 && admitted >= 1_000 - 2 * 9, "\(admitted) admitted")
    }

    @Test func aNewWindowStartsOnceTheLastEnds() async throws {
        let ledger = MemoryLedger()
        let clock = TestClock()
        let limiter = LeasedRateLimiter(ledger: ledger, now: { clock.now })
        for _ in 0..<3 { #expect(try await limiter.record(key: "k", limit: 3, window: 60).allowed) }
        let refused = try await limiter.record(key: "k", limit: 3, window: 60)
        #expect(refused.allowed == false && refused.remaining == 0 && refused.resetAfter == 60)
        clock.advance(60)
        #expect(try await limiter.record(key: "k", limit: 3, window: 60).allowed)
    }

    @Test func concurrentRequestsOnOneInstanceShareOneLease() async throws {
        let ledger = MemoryLedger()
        let limiter = LeasedRateLimiter(ledger: ledger)
        let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { try await limiter.record(key: "k", limit: 10_000, window: 60).allowed } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 200)
        #expect(ledger.calls.load(ordering: .relaxed) == 2, "200 requests, chunks of 100: \(ledger.calls.load(ordering: .relaxed)) calls")
    }

    @Test func anUnreachableLedgerRefusesTheRequestInsteadOfAdmittingItUncounted() async throws {
        let ledger = MemoryLedger()
        ledger.failing.store(true, ordering: .relaxed)
        let limiter = LeasedRateLimiter(ledger: ledger)
        await #expect(throws: MemoryLedger.Unreachable.self) { _ = try await limiter.record(key: "k", limit: 10, window: 60) }
        ledger.failing.store(false, ordering: .relaxed)
        #expect(try await limiter.record(key: "k", limit: 10, window: 60).allowed, "and recovers")
    }
}
