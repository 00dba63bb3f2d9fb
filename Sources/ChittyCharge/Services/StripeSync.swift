import Foundation
import Logging

/// Keeps our copy of each hold in step with Stripe. Everything Stripe tells us, by webhook
/// or because we read the PaymentIntent ourselves, goes through `apply(_:)`: judged by the
/// same monotonic rules (`Hold.judge`), written with a compare-and-set against the hold it
/// was judged on, recorded once in the hold's history, and a hold that just became
/// capturable is handed to the planner.
public struct StripeSync: Sendable {
    public typealias Store = HoldRecords & WebhookEventLog

    let store: any Store
    let gateway: (any PaymentGateway)?
    let planner: SchedulePlanner
    let clock: any WallClock
    let logger: Logger

    public init(store: any Store, gateway: (any PaymentGateway)?, planner: SchedulePlanner, clock: any WallClock, logger: Logger) {
        self.store = store
        self.gateway = gateway
        self.planner = planner
        self.clock = clock
        self.logger = logger
    }

    /// Takes one verified Stripe webhook event (`apply(_:)`). A duplicate changes nothing.
    public func ingestWebhook(_ event: StripeEvent, logger: Logger? = nil) async throws(HoldServiceError) -> WebhookOutcome {
        var logger = logger ?? self.logger
        logger[metadataKey: "stripe.event_id"] = .string(event.id)
        logger[metadataKey: "stripe.event_type"] = .string(event.type)
        return try await apply(StripeObservation(event), logger: logger)
    }

    /// Stores the observation once and moves its hold as far as it says (never backwards).
    /// Safe against our own capture/cancel writing the same hold at the same moment: the
    /// hold is replaced only if it is still the one the observation was judged against,
    /// else it is judged again.
    public func apply(_ observation: StripeObservation, logger: Logger? = nil) async throws(HoldServiceError) -> WebhookOutcome {
        let logger = logger ?? self.logger
        for _ in 0..<8 {
            let now = clock.now()
            let hold: Hold?
            do {
                hold = if let id = observation.paymentIntentID { try await store.hold(id: id) } else { nil }
            } catch {
                throw .storage(error)
            }
            var outcome = WebhookOutcome.unknownHold
            var update: HoldReplacement?
            if let hold {
                switch hold.judge(observation, receivedAt: now) {
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
                id: observation.id, type: observation.historyType, created: observation.created, payload: observation.payload,
                holdID: hold?.id, outcome: outcome, receivedAt: now)
            do {
                guard try await store.recordWebhookEvent(record, update: update) else {
                    logger.debug("duplicate webhook event ignored")
                    return .duplicate
                }
            } catch HoldStoreError.conflict {
                // The hold changed between reading and writing: judge the observation again.
                continue
            } catch {
                logger.error("could not record what Stripe said", metadata: ["error": "\(error)"])
                throw .storage(error)
            }
            if let update {
                logger.info("Stripe moved the hold", metadata: [
                    "hold.id": .string(update.replacement.id), "hold.status": .string(update.replacement.status.rawValue),
                ])
                if update.replacement.status == .requiresCapture, update.expected.status != .requiresCapture {
                    await planner.schedule(update.replacement, logger: logger)
                }
            }
            return outcome
        }
        throw HoldServiceError(.webhookContention, "The hold kept changing while this event was applied; Stripe will retry it")
    }

    /// Applies Stripe's current view of a hold that we just read (a refresh, a
    /// reconciliation, the check after a refusal). Only a change is worth a history entry.
    /// True when it changed the hold.
    func applyRead(_ intent: PaymentIntent, to hold: Hold, logger: Logger? = nil) async throws(HoldServiceError) -> Bool {
        let observation = StripeObservation(read: intent, at: clock.now())
        guard case .apply = hold.judge(observation, receivedAt: observation.created) else { return false }
        return try await apply(observation, logger: logger) == .applied
    }

    /// Reads the hold from Stripe and applies what it says. Throws what Stripe answered.
    func refresh(_ hold: Hold, logger: Logger? = nil) async throws(HoldServiceError) {
        guard let gateway else { throw .stripeNotConfigured }
        let intent: PaymentIntent
        do {
            intent = try await gateway.retrievePaymentIntent(id: hold.id)
        } catch {
            switch error {
            case .unavailable(let reason), .serverErrorReplayed(let reason): throw .stripeUnavailable("refresh", reason: reason)
            case .rejected(let detail): throw .fromStripe(detail, doing: "refresh")
            }
        }
        _ = try await applyRead(intent, to: hold, logger: logger)
    }

    /// Re-reads from Stripe the holds that are not settled and have been quiet for
    /// `quietFor` (their webhooks may have been lost) and applies what Stripe says,
    /// recording each change in the hold's history. Returns how many holds it changed.
    @discardableResult
    public func reconcile(quietFor: TimeInterval, limit: Int = 100) async -> Int {
        guard let gateway else { return 0 }
        let holds: [Hold]
        do {
            holds = try await store.unsettledHolds(unchangedSince: clock.now().addingTimeInterval(-quietFor), limit: limit)
        } catch {
            logger.error("reconciliation could not list holds", metadata: ["error": "\(error)"])
            return 0
        }
        var changed = 0
        for hold in holds {
            let intent: PaymentIntent
            do throws(PaymentGatewayError) {
                intent = try await gateway.retrievePaymentIntent(id: hold.id)
            } catch {
                logger.warning("reconciliation could not read a hold from Stripe", metadata: ["hold.id": .string(hold.id), "error": "\(error)"])
                continue
            }
            do {
                if try await applyRead(intent, to: hold) {
                    changed += 1
                    logger.notice("reconciliation repaired a hold Stripe had moved", metadata: [
                        "hold.id": .string(hold.id), "hold.status": .string(intent.status.rawValue),
                    ])
                }
            } catch {
                logger.error("reconciliation could not record a change", metadata: ["hold.id": .string(hold.id), "error": "\(error)"])
            }
        }
        return changed
    }
}
