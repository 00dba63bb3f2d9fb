import Foundation

/// One request the emulator answered, for tests and benchmarks.
public struct StripeEmulatorCall: Sendable, Equatable {
    public var method: String
    /// Without the query string.
    public var path: String
    public var idempotencyKey: String?
    /// Decoded parameters flattened to bracketed keys (`metadata[k]`, `expand[0]`).
    public var params: [String: String]
    public var status: Int
    /// Answered from the idempotency store instead of executing.
    public var replayed: Bool
    /// Answered by `failNextRequests` before any processing.
    public var injectedFault: Bool
    /// The emulator's own processing time, so a benchmark can subtract Stripe's share of
    /// a request's latency (the emulator stands in for a remote service).
    public var durationNanoseconds: UInt64
    public var requestID: String
}
