import Foundation

/// A response remembered for replay: what an idempotent retry gets back.
public struct StoredResponse: Sendable, Equatable, Codable {
    public var status: Int
    public var body: Data
    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// The lifecycle of an operation that calls Stripe. `pending` is written before the call
/// and survives crashes; recovery replays pending operations with the same key.
public enum OperationState: String, Sendable, Codable {
    case pending
    case succeeded
    case failed
}

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
    public var failure: StoredResponse?
    public var createdAt: Date
    public var updatedAt: Date

    public init(key: String, client: String, clientIdempotencyKey: String?, requestHash: String,
                params: CreatePaymentIntentParams, tier: String, tierLimit: Int, policyRevision: String,
                propertyID: String?, tenantID: String?, state: OperationState = .pending,
                holdID: String? = nil, failure: StoredResponse? = nil, createdAt: Date, updatedAt: Date) {
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
    /// The response the client got, replayed for an identical retry.
    public var response: StoredResponse?
    public var createdAt: Date
    public var updatedAt: Date

    public init(key: String, holdID: String, kind: HoldOperationKind, amount: Int?, state: OperationState = .pending,
                response: StoredResponse? = nil, createdAt: Date, updatedAt: Date) {
        self.key = key
        self.holdID = holdID
        self.kind = kind
        self.amount = amount
        self.state = state
        self.response = response
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A policy decision kept with the revision that made it (and its input, so a candidate
/// policy can be backtested against real traffic later).
public struct PolicyDecisionRecord: Sendable, Equatable {
    public var id: String
    public var hook: String
    public var revision: String
    /// `policy`, `builtin` or `fail_closed`.
    public var source: String
    public var input: Data
    public var decision: Data
    /// The create operation or hold the decision was about.
    public var subject: String?
    public var createdAt: Date

    public init(id: String, hook: String, revision: String, source: String, input: Data, decision: Data,
                subject: String?, createdAt: Date) {
        self.id = id
        self.hook = hook
        self.revision = revision
        self.source = source
        self.input = input
        self.decision = decision
        self.subject = subject
        self.createdAt = createdAt
    }
}

/// A hold still waiting for its ChittyID, with when to try next.
public struct ChittyIDMintJob: Sendable, Equatable {
    public var holdID: String
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?

    public init(holdID: String, attempts: Int, nextAttemptAt: Date, lastError: String?) {
        self.holdID = holdID
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

/// The result of trying to start an operation: either we own it now, or one already
/// exists (a retry, a concurrent duplicate, or a finished one) and the caller must not
/// start another.
public enum OperationClaim<Operation: Sendable & Equatable>: Sendable, Equatable {
    case started(Operation)
    case existing(Operation)
}

public enum HoldStoreError: Error, Sendable, Equatable {
    /// The named record does not exist.
    case notFound(String)
    /// A write would break an invariant (for example two holds with one id).
    case conflict(String)
    /// The database failed; the message is for logs.
    case database(String)
}

/// Where holds and everything needed to finish their operations live. Every method is
/// durable when it returns (the service acknowledges nothing before that). Methods that
/// say "atomically" change several records in one transaction.
///
/// A store must pass `HoldStoreConformance`'s checks; the SQLite store does, and a
/// PostgreSQL store will have to.
public protocol HoldStore: PolicyRevisionStore {
    // MARK: Create operations (also the client's Idempotency-Key records)

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
    func failCreate(key: String, response: StoredResponse, at: Date) async throws
    /// Operations still pending (a crash or an unanswered Stripe call left them).
    func pendingCreates() async throws -> [CreateOperation]
    /// Atomically: inserts `hold` (a PaymentIntent Stripe made although it refused the
    /// create, e.g. a declined saved card) and marks the operation failed with `response`,
    /// so the intent is tracked (its webhooks find it) while retries replay the refusal.
    /// Queues no ChittyID. Idempotent like `completeCreate`.
    func recordRefusedCreate(key: String, hold: Hold, response: StoredResponse, at: Date) async throws

    // MARK: Holds

    func hold(id: String) async throws -> Hold?
    func hold(chittyID: String) async throws -> Hold?
    /// Newest first (by `createdAt`, then id), at most `filter.limit`, after the cursor.
    /// With `filter.owners`, only their holds, and a cursor hold of another owner throws
    /// `notFound` like an unknown one.
    func holds(matching filter: HoldFilter) async throws -> [Hold]
    /// Replaces the stored hold (Stripe's view refreshed), keeping its owner as first
    /// stored. Throws `notFound` if absent.
    func updateHold(_ hold: Hold) async throws
    /// Holds not yet captured or released whose record has not changed since `cutoff`,
    /// least recently changed first: the ones whose webhooks may have been lost.
    func unsettledHolds(unchangedSince cutoff: Date, limit: Int) async throws -> [Hold]

    // MARK: Capture and cancel operations

    /// Compare-and-set: inserts `operation` only if the hold has no pending or succeeded
    /// capture/cancel; otherwise returns that one. Atomically.
    func claimOperation(_ operation: HoldOperation) async throws -> OperationClaim<HoldOperation>
    func operation(key: String) async throws -> HoldOperation?
    /// Atomically: stores what the operation learned about the hold and marks the operation
    /// succeeded. Only the operation's part of `hold` is written: `status`,
    /// `amountCapturable`, `amountReceived`, `capturedAt` and `canceledAt` (each only when
    /// none is stored yet: the first one seen stays), `stripeStateAt` and `updatedAt`. The
    /// rest (`captureBefore`, the ChittyID, …) is left as stored, because a webhook or the
    /// ChittyID outbox may have changed it since the caller read the hold. Idempotent:
    /// completing an operation that already succeeded changes nothing.
    func completeOperation(key: String, hold: Hold, response: StoredResponse, at: Date) async throws
    /// Marks the operation failed for good, which frees the hold for another operation.
    func failOperation(key: String, response: StoredResponse, at: Date) async throws
    func pendingOperations() async throws -> [HoldOperation]

    // MARK: Policy decisions

    func recordDecision(_ record: PolicyDecisionRecord) async throws
    func decisions(subject: String) async throws -> [PolicyDecisionRecord]

    // MARK: ChittyID outbox

    /// Jobs whose next attempt is due, oldest first.
    func dueMintJobs(at: Date, limit: Int) async throws -> [ChittyIDMintJob]
    func mintJobCount() async throws -> Int
    /// Atomically: sets the hold's ChittyID (status minted) and removes its job.
    func recordMinted(holdID: String, chittyID: String, at: Date) async throws
    func rescheduleMint(_ job: ChittyIDMintJob) async throws

    // MARK: Scheduled actions (the only writers of `Hold.scheduledAction`)

    /// Sets (or with nil clears) the hold's scheduled action, as given (its lease too).
    /// Throws `notFound` if absent.
    func setScheduledAction(_ action: ScheduledAction?, holdID: String) async throws
    /// Compare-and-set: marks the hold's action running under `lease` only if it is still
    /// `action` (kind, time, amount, revision) and either pending and due at `now`, or
    /// running under a lease that has expired at `now` (`until <= now`: its runner is
    /// presumed dead) or that `lease.owner` holds already (the same runner trying again;
    /// the lease is renewed). True when `lease.owner` now holds it. A running action under
    /// another owner's live lease is left alone, whoever asks.
    func claimScheduledAction(_ action: ScheduledAction, holdID: String, lease: ScheduledAction.Lease, at now: Date) async throws -> Bool
    /// Atomically: records `outcome` (the action's entry in the hold's history) and clears
    /// the action, only if it is running under `owner`'s lease (expired or not). False,
    /// changing nothing, when it is not: another runner took it over, and its outcome is
    /// that runner's to record.
    func finishScheduledAction(holdID: String, owner: String, outcome: WebhookEventRecord) async throws -> Bool
    /// Holds whose scheduled action is due at `now` (pending, or running under any lease),
    /// earliest first.
    func holdsWithDueActions(at now: Date, limit: Int) async throws -> [Hold]
    /// Atomically: records that `newHoldID` replaces `oldHoldID` (a reauthorization).
    func linkReplacement(oldHoldID: String, newHoldID: String) async throws
    /// Holds with a pending action decided by another policy revision than `revision`.
    func holdsWithPendingActions(notFrom revision: String, limit: Int) async throws -> [Hold]

    // MARK: Webhook events

    /// Atomically: records the event (ids are unique) and, with `update`, replaces the
    /// stored hold — only if it is still `update.expected` (same `updatedAt`, status and
    /// amounts); otherwise throws `conflict` and records nothing, so the caller can judge
    /// the event again against the current hold. Returns false, changing nothing, when an
    /// event with this id was recorded before: each event is processed once.
    func recordWebhookEvent(_ event: WebhookEventRecord, update: HoldReplacement?) async throws -> Bool
    /// The events about one hold, oldest first (by Stripe's `created`, then arrival).
    func webhookEvents(holdID: String) async throws -> [WebhookEventRecord]

    // MARK: Backtest

    /// Recorded policy decisions, oldest first by (`createdAt`, `id`): those made at or
    /// after `since` when it is given, and strictly after `cursor` when it is given; at most
    /// `limit` (below 1 counts as 1). An empty page means there are no more. Pass a page's
    /// last record as the next page's cursor (`PolicyDecisionCursor(after:)`). Reads only.
    func decisions(since: Date?, after cursor: PolicyDecisionCursor?, limit: Int) async throws -> [PolicyDecisionRecord]

    // MARK: Operational gauges

    /// What `/metrics` reports about work waiting, read at once when it is scraped: actions
    /// due at `now` (pending or left running), those due at or before `now - overdueAfter`,
    /// capturable holds with nothing due at least `expiryMargin` before `capture_before`
    /// (`HoldService.expiresWithoutAction`), and the ChittyID outbox's jobs. Reads only.
    func operationalGauges(at now: Date, overdueAfter: TimeInterval, expiryMargin: TimeInterval) async throws -> OperationalGauges
}

/// Where the sources of recently active policy revisions are kept (rollback): all
/// `PolicyReloader` needs of the store.
public protocol PolicyRevisionStore: Sendable {
    /// Stores the revision's sources (once per id) and when and how it became active, then
    /// forgets all but the `keep` most recently activated revisions.
    func recordPolicyActivation(_ record: PolicyRevisionRecord, keep: Int) async throws
    /// Most recently activated first.
    func policyRevisions(limit: Int) async throws -> [PolicyRevisionRecord]
    func policyRevision(id: String) async throws -> PolicyRevisionRecord?
}

extension HoldStore {
    /// Claims a create operation with no decision to record.
    public func claimCreate(_ operation: CreateOperation) async throws -> OperationClaim<CreateOperation> {
        try await claimCreate(operation, decision: nil)
    }
}
