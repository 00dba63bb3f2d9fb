import ChittyCharge
import Foundation
import Synchronization

/// A stand-in for the ChittyID service, for `serve --chittyid emulator` and tests. Ids
/// look like real ones but say they are emulated (`CHITTY-AUTH-EMU-…`), so they can never
/// be mistaken for minted ones. Tests can make it fail to exercise the outbox.
public final class EmulatedChittyIDMinter: ChittyIDMinter {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "the emulated ChittyID service is set to fail" }
    }

    private struct State {
        var failing = false
        var sequence = 0
        var minted: [(entityType: String, metadata: [String: String], id: String)] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// While on, every mint throws, like an unreachable ChittyID service.
    public func setFailing(_ failing: Bool) {
        state.withLock { $0.failing = failing }
    }

    /// How many ids were minted, and for which holds.
    public var mintedHoldIDs: [String] {
        state.withLock { $0.minted.compactMap { $0.metadata["hold_id"] } }
    }

    public func mint(entityType: String, metadata: [String: String]) async throws -> String {
        try state.withLock { state in
            if state.failing { throw Unavailable() }
            state.sequence += 1
            let id = String(format: "CHITTY-%@-EMU-%08d-%@", entityType, state.sequence,
                            String(UUID().uuidString.prefix(8)))
            state.minted.append((entityType, metadata, id))
            return id
        }
    }
}
