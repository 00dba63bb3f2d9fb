import Foundation

/// Wall-clock time, injectable so tests control expiry, backoff and timestamps.
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
