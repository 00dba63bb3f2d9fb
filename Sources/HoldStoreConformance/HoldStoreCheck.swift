import ChittyCharge

/// One named behaviour every `HoldStore` must have. `run` gets a fresh, empty store and
/// throws (usually a `ConformanceFailure`) when the store gets it wrong.
public struct HoldStoreCheck: Sendable, CustomStringConvertible {
    public let name: String
    public let run: @Sendable (any HoldStore) async throws -> Void

    public init(_ name: String, run: @escaping @Sendable (any HoldStore) async throws -> Void) {
        self.name = name
        self.run = run
    }

    public var description: String { name }
}
