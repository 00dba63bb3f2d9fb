import Synchronization

/// Lets async work through one piece at a time, first come, first served.
///
/// An actor alone does not do this: its methods interleave at every `await`. Work that
/// must not — a policy reload whose store write is awaited while another reload would
/// activate the next revision, or a SQLite transaction whose statements are each a hop to
/// the thread pool — runs inside `run`, which holds the gate across its awaits.
public final class SerialGate: Sendable {
    private struct State {
        var isHeld = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// How many callers wait for the one inside.
    public var waiting: Int {
        state.withLock { $0.waiters.count }
    }

    /// Runs `body` once every caller that came earlier is done, on the caller's actor.
    public init() {}

    public func run<T, E: Error>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws(E) -> T) async throws(E) -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let entered = state.withLock { state -> Bool in
                if state.isHeld {
                    state.waiters.append(waiter)
                    return false
                }
                state.isHeld = true
                return true
            }
            if entered { waiter.resume() }
        }
    }

    /// Hands the gate straight to the next waiter (it stays held), or opens it.
    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.isHeld = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
