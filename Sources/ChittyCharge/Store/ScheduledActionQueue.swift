import Foundation

/// The queue of scheduled actions (kept on the hold, `Hold.scheduledAction`): its
/// methods are the only writers of that field. A claim carries an owner and a lease.
public protocol ScheduledActionQueue: Sendable {
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
    /// Holds with a pending action decided by another policy revision than `revision`.
    func holdsWithPendingActions(notFrom revision: String, limit: Int) async throws -> [Hold]
}
