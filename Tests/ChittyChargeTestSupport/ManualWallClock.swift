import ChittyCharge
import Foundation
import Synchronization

/// A wall clock a test moves by hand, for the hold service and the Stripe emulator alike.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date()) { current = Mutex(start) }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(by interval: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(interval) } }

    public func set(_ date: Date) { current.withLock { $0 = date } }
}
