import Foundation

/// Bounds on `hold_schedule`'s `reauthorize`: each one puts a new authorization on the
/// guest's card, so a policy that asks too early (say "now", on every evaluation) or
/// forever must be refused, not obeyed.
public struct ReauthorizationLimits: Sendable, Equatable {
    /// A reauthorization may be scheduled no earlier than this before the hold's capture
    /// deadline (48 h: late enough that a hold is replaced at most once per window, early
    /// enough to retry a failure before the deadline).
    public var earliestBeforeDeadline: TimeInterval
    /// At most this many reauthorizations descend from one original hold (8: about two
    /// months of 7-day card windows).
    public var maxPerChain: Int

    public init(earliestBeforeDeadline: TimeInterval = 48 * 3600, maxPerChain: Int = 8) {
        self.earliestBeforeDeadline = earliestBeforeDeadline
        self.maxPerChain = maxPerChain
    }
}
