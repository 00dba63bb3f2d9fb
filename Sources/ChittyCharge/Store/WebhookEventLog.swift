import Foundation

/// What Stripe told us (and what the scheduler did), once per event id.
public protocol WebhookEventLog: Sendable {
    /// Atomically: records the event (ids are unique) and, with `update`, replaces the
    /// stored hold — only if it is still `update.expected` (same `updatedAt`, status and
    /// amounts); otherwise throws `conflict` and records nothing, so the caller can judge
    /// the event again against the current hold. Returns false, changing nothing, when an
    /// event with this id was recorded before: each event is processed once.
    func recordWebhookEvent(_ event: WebhookEventRecord, update: HoldReplacement?) async throws -> Bool
    /// The events about one hold, oldest first (by Stripe's `created`, then arrival).
    func webhookEvents(holdID: String) async throws -> [WebhookEventRecord]
}
