import Foundation

extension HoldService {
    /// Takes one verified Stripe event: stores it once, and moves its hold as far as the
    /// event says (never backwards, see `Hold.judge`). A duplicate changes nothing.
    /// Safe against our own capture/cancel writing the same hold at the same moment: the
    /// hold is replaced only if it is still the one the event was judged against.
    public func ingestWebhook(_ event: StripeEvent) async throws(HoldServiceError) -> WebhookOutcome {
        var logger = self.logger
        logger[metadataKey: "stripe.event_id"] = .string(event.id)
        logger[metadataKey: "stripe.event_type"] = .string(event.type)
        for _ in 0..<8 {
            let now = clock.now()
            let hold: Hold?
            do {
                hold = try await event.paymentIntentID.asyncMap { try await store.hold(id: $0) } ?? nil
            } catch {
                throw .storage(error)
            }
            var outcome = WebhookOutcome.unknownHold
            var update: HoldReplacement?
            if let hold {
                switch hold.judge(event, receivedAt: now) {
                case .apply(let next):
                    update = HoldReplacement(expected: hold, replacement: next)
                    outcome = .applied
                case .stale:
                    outcome = .stale
                case .nothingToChange:
                    outcome = .recorded
                }
            }
            let record = WebhookEventRecord(
                id: event.id, type: event.type, created: event.created, payload: event.payload, holdID: hold?.id,
                outcome: outcome, receivedAt: now)
            do {
                guard try await store.recordWebhookEvent(record, update: update) else {
                    logger.debug("duplicate webhook event ignored")
                    return .duplicate
                }
            } catch HoldStoreError.conflict {
                // The hold changed between reading and writing: judge the event again.
                continue
            } catch {
                logger.error("could not record a webhook event", metadata: ["error": "\(error)"])
                throw .storage(error)
            }
            if let update {
                logger.info("webhook moved the hold", metadata: [
                    "hold.id": .string(update.replacement.id), "hold.status": .string(update.replacement.status.rawValue),
                ])
                if update.replacement.status == .requiresCapture, update.expected.status != .requiresCapture {
                    await schedule(update.replacement)
                }
            }
            return outcome
        }
        throw HoldServiceError(httpStatus: 503, message: "The hold kept changing while this event was applied; Stripe will retry it", code: "webhook_contention")
    }

    /// A hold's history: what Stripe told us (webhooks, reconciliation), what the
    /// scheduler did, and the policy decisions about it (the `hold_limit` that placed it,
    /// each `hold_schedule`), oldest first.
    /// A hold `access` does not permit is not found.
    public func history(holdID: String, access: HoldAccess = .everyHold) async throws(HoldServiceError) -> (events: [WebhookEventRecord], decisions: [PolicyDecisionRecord]) {
        do {
            guard let hold = try await store.hold(id: holdID), access.permits(hold) else { throw HoldServiceError.notFound(holdID: holdID) }
            let events = try await store.webhookEvents(holdID: holdID)
            let decisions = try await store.decisions(subject: hold.createOperationKey) + store.decisions(subject: holdID)
            return (events, decisions)
        } catch let error as HoldServiceError {
            throw error
        } catch {
            throw .storage(error)
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
