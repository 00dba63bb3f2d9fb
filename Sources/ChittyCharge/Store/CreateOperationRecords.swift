import Foundation
import JSON

/// One attempt to place a hold: written (with its Stripe idempotency key) before Stripe is
/// called. It doubles as the record of the client's `Idempotency-Key`.
public struct CreateOperation: Sendable, Equatable {
    /// Our key, sent to Stripe as `Idempotency-Key`. Random, made once, stored first.
    public var key: String
    public var client: String
    /// The `Idempotency-Key` header the client sent, if any (unique per client).
    public var clientIdempotencyKey: String?
    /// SHA-256 of the canonical request, to tell a retry from a different request.
    public var requestHash: String
    /// What Stripe is asked to create, so recovery can replay the exact same call.
    public var params: CreatePaymentIntentParams
    /// The `hold_limit` decision that allowed it.
    public var tier: String
    public var tierLimit: Int
    public var policyRevision: String
    public var propertyID: String?
    public var tenantID: String?
    public var state: OperationState
    /// Set when it succeeded.
    public var holdID: String?
    /// Set when it failed for good: the error the client got, replayed on retry.
    public var failure: HoldServiceError?
    public var createdAt: Date
    public var updatedAt: Date
    /// The metadata as the client sent it (typed), for the hold it makes; nil on operations
    /// stored before it was kept.
    public var clientMetadata: [String: JSONValue]?

    public init(key: String, client: String, clientIdempotencyKey: String?, requestHash: String,
                params: CreatePaymentIntentParams, tier: String, tierLimit: Int, policyRevision: String,
                propertyID: String?, tenantID: String?, state: OperationState = .pending,
                holdID: String? = nil, failure: HoldServiceError? = nil, createdAt: Date, updatedAt: Date,
                clientMetadata: [String: JSONValue]? = nil) {
        self.clientMetadata = clientMetadata
        self.key = key
        self.client = client
        self.clientIdempotencyKey = clientIdempotencyKey
        self.requestHash = requestHash
        self.params = params
        self.tier = tier
        self.tierLimit = tierLimit
        self.policyRevision = policyRevision
        self.propertyID = propertyID
        self.tenantID = tenantID
        self.state = state
        self.holdID = holdID
        self.failure = failure
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Create operations, which are also the records of clients' `Idempotency-Key`s.
public protocol CreateOperationRecords: Sendable {
    /// Inserts `operation` unless the same client already used the same
    /// `clientIdempotencyKey`; then returns that one untouched. When it is inserted, the
    /// `hold_limit` decision that allowed or refused it is recorded with it, under the
    /// operation's key as subject: one durable write before Stripe is called, not two.
    /// Atomically.
    func claimCreate(_ operation: CreateOperation, decision: PolicyDecisionRecord?) async throws -> OperationClaim<CreateOperation>
    func createOperation(key: String) async throws -> CreateOperation?
    /// Atomically: inserts the hold (with its owner), marks the operation succeeded with its id (its
    /// `updatedAt` becomes the hold's), and queues the hold for ChittyID minting (due at the
    /// hold's `updatedAt`) when it has none. Idempotent: completing an operation that
    /// already succeeded with this hold changes nothing.
    func completeCreate(key: String, hold: Hold) async throws
    /// Marks the operation failed for good with the response the client got.
    func failCreate(key: String, failure: HoldServiceError, at: Date) async throws
    /// Operations still pending (a crash or an unanswered Stripe call left them).
    func pendingCreates() async throws -> [CreateOperation]
    /// Atomically: inserts `hold` (a PaymentIntent Stripe made although it refused the
    /// create, e.g. a declined saved card) and marks the operation failed with `response`,
    /// so the intent is tracked (its webhooks find it) while retries replay the refusal.
    /// Queues no ChittyID. Idempotent like `completeCreate`.
    func recordRefusedCreate(key: String, hold: Hold, failure: HoldServiceError, at: Date) async throws
}

extension CreateOperationRecords {
    /// Claims a create operation with no decision to record.
    public func claimCreate(_ operation: CreateOperation) async throws -> OperationClaim<CreateOperation> {
        try await claimCreate(operation, decision: nil)
    }
}
