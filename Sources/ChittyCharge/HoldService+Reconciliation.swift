import Foundation

extension HoldService {
    /// The event type our own re-reads of Stripe are recorded under in a hold's history.
    public static let reconciliationEventType = "chittycharge.reconciled"

    /// Applies what Stripe just said about a hold (a refresh or a reconciliation read) by
    /// the webhook rules: monotonic, compare-and-set, and recorded in the hold's history
    /// when it changes something. True when it did.
    func applyStripeView(_ intent: PaymentIntent, to hold: Hold) async throws(HoldServiceError) -> Bool {
        let now = clock.now()
        let observation = StripeEvent(
            id: "recon_" + UUID().uuidString.lowercased(), type: Self.reconciliationEventType, created: now,
            payload: JSONCoding.encode([
                "status": intent.status.rawValue, "amount_capturable": String(intent.amountCapturable ?? 0),
                "amount_received": String(intent.amountReceived ?? 0),
            ]),
            paymentIntentID: hold.id, paymentIntent: intent)
        // Only a change is worth a history entry.
        guard case .apply = hold.judge(observation, receivedAt: now) else { return false }
        return try await ingestWebhook(observation) == .applied
    }

    /// Re-reads from Stripe the holds that are not settled and have been quiet for
    /// `quietFor` (their webhooks may have been lost) and applies what Stripe says with the
    /// same monotonic rules as a webhook, recording each change in the hold's history.
    /// Returns how many holds it changed.
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
                if try await applyStripeView(intent, to: hold) {
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
