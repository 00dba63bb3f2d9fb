import Foundation

/// Holds: our copy of each PaymentIntent we placed, with its owner.
public protocol HoldRecords: Sendable {
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
    /// Atomically: records that `newHoldID` replaces `oldHoldID` (a reauthorization).
    func linkReplacement(oldHoldID: String, newHoldID: String) async throws
}
