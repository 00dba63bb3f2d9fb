#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The idle Lua states of one revision.
///
/// States are kept in shards, and each thread has a home shard, so concurrent callers on
/// different threads take different locks. With one shared lock, two callers spent much of
/// their time handing its cache line back and forth (measured: ×1.3–1.5 instead of ×1.8
/// the throughput of one caller).
final class LuaStatePool: Sendable {
    private final class Shard: Sendable {
        let states = Mutex<[LuaPolicyState]>([])
        // Keeps neighbouring shards' locks off one cache line.
        private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    private let shards: [Shard]
    private let maximumPerShard: Int

    init(shardCount: Int, maximumPerShard: Int) {
        shards = (0..<max(1, shardCount)).map { _ in Shard() }
        self.maximumPerShard = maximumPerShard
    }

    /// An idle state, preferring the calling thread's shard; nil when none is idle.
    func take() -> LuaPolicyState? {
        let home = homeShard()
        for offset in 0..<shards.count {
            if let state = shards[(home + offset) % shards.count].states.withLock({ $0.popLast() }) {
                return state
            }
        }
        return nil
    }

    /// Keeps `state` for later; false when the home shard is full (the caller drops it).
    @discardableResult
    func put(_ state: LuaPolicyState) -> Bool {
        shards[homeShard()].states.withLock { idle in
            guard idle.count < maximumPerShard else { return false }
            idle.append(state)
            return true
        }
    }

    var count: Int { shards.reduce(0) { $0 + $1.states.withLock { $0.count } } }

    /// Visits every idle state under its shard's lock, so no caller can take it meanwhile.
    func forEachIdle(_ body: (LuaPolicyState) -> Void) {
        for shard in shards {
            shard.states.withLock { idle in
                for state in idle { body(state) }
            }
        }
    }

    private func homeShard() -> Int {
        ThreadShard.index % shards.count
    }
}

/// A small number per thread, handed out in order, stored in thread-local storage.
private enum ThreadShard {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    static let next = Atomic<Int>(1)

    static var index: Int {
        if let value = pthread_getspecific(key) { return Int(bitPattern: value) }
        let assigned = next.wrappingAdd(1, ordering: .relaxed).oldValue
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: assigned))
        return assigned
    }
}
