import Synchronization

/// Runs one piece of work per key at a time in this process: a caller arriving while the
/// work for its key is in flight waits for that result instead of starting it again.
/// This is what keeps a burst of identical captures to one Stripe call while the store's
/// compare-and-set keeps it to one across restarts.
final class SingleFlight<Value: Sendable>: Sendable {
    private let inFlight = Mutex<[String: Task<Value, Never>]>([:])

    /// Whether work for `key` is in flight in this process now.
    func isRunning(_ key: String) -> Bool {
        inFlight.withLock { $0[key] != nil }
    }

    func run(_ key: String, _ work: @escaping @Sendable () async -> Value) async -> Value {
        let task = inFlight.withLock { tasks in
            if let running = tasks[key] { return running }
            let started = Task { await work() }
            tasks[key] = started
            return started
        }
        let value = await task.value
        inFlight.withLock { tasks in
            if tasks[key] == task { tasks[key] = nil }
        }
        return value
    }
}
