import ChittyCharge
import Synchronization

/// Holds recently read by id, so serving `GET /api/holds/{id}` mostly skips a trip to
/// SQLite's threads. Coherent because this process is the database's only writer (the
/// SQLite store is the single-node deployment: one server per database file) and every
/// write to a hold invalidates its entry once committed.
///
/// A read that raced a write must not put the old row back: reads note the generation
/// before querying and only fill the cache if no write has finished since.
final class HoldCache: Sendable {
    private struct State {
        var entries: [String: Hold] = [:]
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func hold(id: String) -> Hold? {
        state.withLock { $0.entries[id] }
    }

    var generation: UInt64 {
        state.withLock { $0.generation }
    }

    /// Caches `hold` as read from the database, unless a write finished after `generation`.
    func fill(_ hold: Hold, readAtGeneration generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation, capacity > 0 else { return }
            if state.entries.count >= capacity, state.entries[hold.id] == nil, let evicted = state.entries.keys.first {
                state.entries[evicted] = nil
            }
            state.entries[hold.id] = hold
        }
    }

    /// Called after every write that may change the hold (committed or rolled back).
    func invalidate(id: String) {
        state.withLock { state in
            state.generation &+= 1
            state.entries[id] = nil
        }
    }
}
