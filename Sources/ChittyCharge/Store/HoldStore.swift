import Foundation

/// Everything a running service keeps, split by aggregate: each service asks only for
/// the slices it uses (`HoldRecords`, `CreateOperationRecords`, …). Every method is
/// durable when it returns (nothing is acknowledged to a client before that); methods
/// that say "atomically" change several records in one transaction. Workflow rules (what
/// completing an operation also changes) are stated here and written in Swift by each
/// store, not hidden in database triggers.
///
/// A store must pass `HoldStoreConformance`'s checks; the SQLite store does, and a
/// PostgreSQL store will have to.
public protocol HoldStore: HoldRecords, CreateOperationRecords, HoldOperationRecords, ScheduledActionQueue,
    ChittyIDOutbox, WebhookEventLog, BookingEventLog, OriginSightingLog, PolicyDecisionLog, PolicyRevisionStore, OperationalGaugeSource, DatabaseHealth, ClusterRegistry {}

public enum HoldStoreError: Error, Sendable, Equatable {
    /// The named record does not exist.
    case notFound(String)
    /// A write would break an invariant (for example two holds with one id).
    case conflict(String)
    /// The database failed; the message is for logs.
    case database(String)
    /// The database cannot be reached now (down, restarting, every connection busy, a
    /// statement past its time limit). Retry later; as with any store error, a write may or
    /// may not have been applied, which the operations' idempotency keys make safe.
    case unavailable(String)
}

/// The lifecycle of an operation that calls Stripe. `pending` is written before the call
/// and survives crashes; recovery replays pending operations with the same key.
public enum OperationState: String, Sendable, Codable {
    case pending
    case succeeded
    case failed
}

/// The result of trying to start an operation: either we own it now, or one already
/// exists (a retry, a concurrent duplicate, or a finished one) and the caller must not
/// start another.
public enum OperationClaim<Operation: Sendable & Equatable>: Sendable, Equatable {
    case started(Operation)
    case existing(Operation)
}

