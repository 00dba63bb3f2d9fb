import ChittyCharge
import Foundation
import NIOCore
import Synchronization

/// The JSON body last written for each recently read hold, so serving an unchanged hold
/// writes no JSON: building and encoding the object and formatting its five timestamps was
/// about 8 % of a `GET /api/holds/{id}` (Benchmarks/README.md, "Performance against nginx
/// + Lua"). An entry is used only when the hold just read from the store equals the one it
/// was written for, field by field, so a changed hold is never answered with an old body;
/// the body depends on nothing else (its flags follow from the hold alone).
final class HoldBodyCache: Sendable {
    private let entries = Mutex<[String: (hold: Hold, body: ByteBuffer)]>([:])
    private let capacity: Int

    init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    func body(for hold: Hold, encode: (Hold) -> Data) -> ByteBuffer {
        if let cached = entries.withLock({ $0[hold.id] }), cached.hold == hold {
            return cached.body
        }
        let body = ByteBuffer(bytes: encode(hold))
        entries.withLock { entries in
            if entries.count >= capacity, entries[hold.id] == nil, let evicted = entries.keys.first {
                entries[evicted] = nil
            }
            entries[hold.id] = (hold, body)
        }
        return body
    }
}
