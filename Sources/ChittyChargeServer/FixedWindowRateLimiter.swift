import Foundation
import Synchronization

/// Admits or refuses one request under a limit per window, for `RateLimitMiddleware`.
public protocol RateLimiter: Sendable {
    /// Counts a request under `key` (when admitted). Throws when the count cannot be kept
    /// (a shared ledger unreachable): the request is then refused, never admitted uncounted.
    func record(key: String, limit: Int64, window: Int64) async throws -> RateLimitOutcome
}

public struct RateLimitOutcome: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int64
    public var remaining: Int64
    /// Seconds until the window ends and the count starts again.
    public var resetAfter: Int64
}

/// Counts requests per key in fixed windows that start at a key's first request (so a
/// burst is never split across an arbitrary clock boundary). In memory: right for one
/// instance on its own SQLite file; instances sharing PostgreSQL use `LeasedRateLimiter`.
public final class FixedWindowRateLimiter: RateLimiter {
    public typealias Outcome = RateLimitOutcome

    private struct Window {
        var start: Double
        var length: Double
        var count: Int64
    }

    private let windows = Mutex<[String: Window]>([:])
    private let now: @Sendable () -> Double
    /// Expired windows are swept when the table grows past this, keeping memory bounded.
    private let sweepThreshold: Int

    public init(sweepThreshold: Int = 10_000, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.now = now
        self.sweepThreshold = sweepThreshold
    }

    public func record(key: String, limit: Int64, window: Int64) -> Outcome {
        let time = now()
        let length = Double(max(window, 1))
        return windows.withLock { windows in
            var current = windows[key] ?? Window(start: time, length: length, count: 0)
            if time >= current.start + current.length || current.length != length {
                current = Window(start: time, length: length, count: 0)
            }
            let allowed = current.count < limit
            if allowed { current.count += 1 }
            windows[key] = current
            if windows.count > sweepThreshold {
                windows = windows.filter { time < $0.value.start + $0.value.length }
            }
            let reset = Int64((current.start + current.length - time).rounded(.up))
            return Outcome(allowed: allowed, limit: limit, remaining: max(0, limit - current.count), resetAfter: max(reset, 1))
        }
    }
}
