import Synchronization

/// Counts the store calls under way so `close()` can wait for them: closing a SQLite
/// connection while another thread of the pool still runs a statement on it frees memory
/// that statement is using (a crash, seen in CI when a reader outlived its test).
final class InFlightCalls: Sendable {
    private struct State {
        var isClosed = false
        var running = 0
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Counts a call in; `false` once `closeAndDrain()` has begun (no new call may start).
    func enter() -> Bool {
        state.withLock { state in
            guard !state.isClosed else { return false }
            state.running += 1
            return true
        }
    }

    func leave() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.isClosed, state.running == 0 else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Refuses new calls and returns once every call already in has left.
    /// `false` if another caller closed first.
    func closeAndDrain() async -> Bool {
        let first = state.withLock { state -> Bool in
            defer { state.isClosed = true }
            return !state.isClosed
        }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.drained.append(waiter)
                return false
            }
            if done { waiter.resume() }
        }
        return first
    }
}
