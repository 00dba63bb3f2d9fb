import Foundation

/// What a request does with a pending operation (a create, capture or cancel) that this
/// process is not running.
///
/// One instance on its own store knows every operation in flight (`SingleFlight`): a
/// pending one it is not running was abandoned (Stripe did not answer, or a crash), and is
/// finished now by replaying it with its own idempotency key. When instances share the
/// store, a young pending operation is most likely running on another instance: replaying
/// it would send a second, concurrent request to Stripe. So the request watches it settle
/// for a short while and answers what the first caller was told, or 409
/// `operation_in_progress` (with `Retry-After`) if it is still running. Past
/// `takeoverAge` it is presumed abandoned and replayed, as recovery would.
struct OtherInstanceWait: Sendable {
    /// Whether other instances may be running operations on this store.
    let storeIsShared: Bool
    /// How long a request waits for another instance's operation to settle.
    let wait: Duration
    /// A pending operation older than this is abandoned (its instance died, or Stripe did
    /// not answer it): replay it.
    let takeoverAge: TimeInterval
    let pollInterval: Duration = .milliseconds(25)

    /// True when the operation last touched at `updatedAt` is to be replayed here.
    func replaysHere(updatedAt: Date, now: Date) -> Bool {
        !storeIsShared || now.timeIntervalSince(updatedAt) >= takeoverAge
    }

    /// Reads until `settled` gives a value or the wait is over (nil).
    func awaitSettled<T: Sendable>(_ settled: () async throws(HoldServiceError) -> T?) async throws(HoldServiceError) -> T? {
        let deadline = ContinuousClock.now + wait
        while true {
            if let value = try await settled() { return value }
            guard ContinuousClock.now + pollInterval < deadline else { return nil }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return nil
            }
        }
    }
}
