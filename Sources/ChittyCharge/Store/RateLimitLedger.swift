import Foundation

/// A share of a rate limit's window handed to one instance.
public struct RateLimitLease: Sendable, Equatable {
    /// Requests this instance may admit now (0 when the window's limit is spent).
    public var granted: Int64
    public var windowStart: Date
    public var windowEnd: Date
    /// Everything granted in this window across the instances, this lease included.
    public var grantedInWindow: Int64

    public init(granted: Int64, windowStart: Date, windowEnd: Date, grantedInWindow: Int64) {
        self.granted = granted
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.grantedInWindow = grantedInWindow
    }
}

/// The rate-limit counts several instances share, so a client limited to N requests a
/// window is admitted at most N times across all of them.
public protocol RateLimitLedger: Sendable {
    /// Grants up to `requested` of the `limit` for `key`'s current window, never more than
    /// `limit` in all for the window (so possibly 0). A window starts at the first lease
    /// when none is running and lasts `window` seconds; a limit changed mid-window applies
    /// to what was granted so far. Atomic across instances.
    func leaseQuota(key: String, limit: Int64, window: Int64, requested: Int64, at now: Date) async throws -> RateLimitLease
}
