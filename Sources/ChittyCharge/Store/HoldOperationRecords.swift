import Foundation

public enum HoldOperationKind: String, Sendable, Codable {
    case capture
    case cancel
}

/// A capture or a cancel of one hold. At most one may be pending or succeeded per hold:
/// the store enforces that, which is what makes 20 concurrent captures one Stripe call.
public struct HoldOperation: Sendable, Equatable {
    /// Our key, sent to Stripe as `Idempotency-Key`.
    public var key: String
    public var holdID: String
    public var kind: HoldOperationKind
    /// For a capture: `amount_to_capture`, or nil for the whole capturable amount.
    public var amount: Int?
    public var state: OperationState
    /// Set when it succeeded: what the client got, replayed for an identical retry.
    public var receipt: HoldOperationReceipt?
    /// Set when it failed for good: the error the client got.
    public var failure: HoldServiceError?
    public var createdAt: Date
    public var updatedAt: Date

    public init(key: String, holdID: String, kind: HoldOperationKind, amount: Int?, state: OperationState = .pending,
                receipt: HoldOperationReceipt? = nil, failure: HoldServiceError? = nil, createdAt: Date, updatedAt: Date) {
        self.key = key
        self.holdID = holdID
        self.kind = kind
        self.amount = amount
        self.state = state
        self.receipt = receipt
        self.failure = failure
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Captures and cancels: at most one live per hold.
public protocol HoldOperationRecords: Sendable {
    /// Compare-and-set: inserts `operation` only if the hold has no pending or succeeded
    /// capture/cancel; otherwise returns that one. Atomically.
    func claimOperation(_ operation: HoldOperation) async throws -> OperationClaim<HoldOperation>
    /// Atomically: stores what the operation learned about the hold and marks the operation
    /// succeeded. Only the operation's part of `hold` is written: `status`,
    /// `amountCapturable`, `amountReceived`, `capturedAt` and `canceledAt` (each only when
    /// none is stored yet: the first one seen stays), `stripeStateAt` and `updatedAt`. The
    /// rest (`captureBefore`, the ChittyID, …) is left as stored, because a webhook or the
    /// ChittyID outbox may have changed it since the caller read the hold. Idempotent:
    /// completing an operation that already succeeded changes nothing.
    func completeOperation(key: String, hold: Hold, receipt: HoldOperationReceipt, at: Date) async throws
    /// Marks the operation failed for good with the error the client got, which frees the
    /// hold for another operation.
    func failOperation(key: String, failure: HoldServiceError, at: Date) async throws
    func pendingOperations() async throws -> [HoldOperation]
    /// The operation with this key, in whatever state (nil: none). A request that found
    /// another instance running the hold's operation watches it settle through this.
    func holdOperation(key: String) async throws -> HoldOperation?
}
