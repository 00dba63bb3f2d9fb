import ChittyCharge
import Foundation
import Synchronization

/// Rate limits shared by the instances on one database: each instance leases quota from
/// the store's ledger in chunks and admits requests from its lease without asking again.
///
/// The chunk is 1% of the limit (at least 1): a limit of 10 leases one request at a time,
/// so a client is admitted exactly 10 times however its requests are spread; a limit of
/// 6,000 leases 60 at a time, one database round trip per 60 requests. What an instance
/// leased but did not use by the window's end is lost, so with high limits a client spread
/// over several instances may be admitted up to (instances × (chunk − 1)) fewer times than
/// the limit, never more. Concurrent requests for one key on one instance wait for one lease.
public final class LeasedRateLimiter: RateLimiter {
    private struct Window {
        var end: Date
        var limit: Int64
        /// Leased to this instance and not yet used.
        var unspent: Int64
        /// Granted across the instances in this window, as of the last lease.
        var grantedInWindow: Int64
    }

    private struct State {
        var windows: [String: Window] = [:]
        var leasing: [String: Task<Void, any Error>] = [:]
    }

    private let ledger: any RateLimitLedger
    private let state = Mutex(State())
    private let now: @Sendable () -> Date
    /// Ended windows are dropped when the table grows past this, keeping memory bounded.
    private let sweepThreshold: Int

    public init(ledger: any RateLimitLedger, sweepThreshold: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.sweepThreshold = sweepThreshold
        self.now = now
    }

    /// Requests leased at a time for a limit.
    public static func chunk(for limit: Int64) -> Int64 {
        max(1, limit / 100)
    }

    public func record(key: String, limit: Int64, window: Int64) async throws -> RateLimitOutcome {
        while true {
            let time = now()
            enum Step { case answer(RateLimitOutcome), wait(Task<Void, any Error>) }
            let step: Step = state.withLock { state in
                if var current = state.windows[key], time < current.end, current.limit == limit {
                    let reset = Self.resetAfter(current.end, time)
                    if current.unspent > 0 {
                        current.unspent -= 1
                        state.windows[key] = current
                        return .answer(RateLimitOutcome(allowed: true, limit: limit,
                                                        remaining: max(0, limit - current.grantedInWindow) + current.unspent, resetAfter: reset))
                    }
                    // Granted only grows within a window: once it is all granted, refuse
                    // without asking the ledger.
                    if current.grantedInWindow >= limit {
                        return .answer(RateLimitOutcome(allowed: false, limit: limit, remaining: 0, resetAfter: reset))
                    }
                }
                if let running = state.leasing[key] { return .wait(running) }
                let lease = Task { [ledger] in
                    let lease = try await ledger.leaseQuota(key: key, limit: limit, window: window, requested: Self.chunk(for: limit), at: time)
                    self.state.withLock { state in
                        state.windows[key] = Window(end: lease.windowEnd, limit: limit, unspent: lease.granted, grantedInWindow: lease.grantedInWindow)
                        if state.windows.count > self.sweepThreshold {
                            let now = self.now()
                            state.windows = state.windows.filter { now < $0.value.end }
                        }
                    }
                }
                state.leasing[key] = lease
                return .wait(lease)
            }
            switch step {
            case .answer(let outcome):
                return outcome
            case .wait(let lease):
                let result = await lease.result
                state.withLock { state in
                    if state.leasing[key] == lease { state.leasing[key] = nil }
                }
                try result.get()
            }
        }
    }

    private static func resetAfter(_ end: Date, _ time: Date) -> Int64 {
        max(1, Int64(end.timeIntervalSince(time).rounded(.up)))
    }
}
