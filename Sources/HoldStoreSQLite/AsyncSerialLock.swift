import Synchronization

/// A first-come, first-served lock for async code.
///
/// The writer connection runs each statement as a separate hop to the thread pool, so an
/// actor alone would not do: its methods may interleave at every `await`. Holding this lock
/// across a whole transaction keeps two transactions' statements apart.
final class AsyncSerialLock: Sendable {
    private struct State {
        var isLocked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.isLocked {
                    state.waiters.append(waiter)
                    return false
                }
                state.isLocked = true
                return true
            }
            if acquired { waiter.resume() }
        }
    }

    /// Hands the lock straight to the next waiter (it stays locked), or frees it.
    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.isLocked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }
}
