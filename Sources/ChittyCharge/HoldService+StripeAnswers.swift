import Foundation
import Logging

/// Stripe answers that need more than taking the PaymentIntent as it comes: an intent
/// Stripe made but refused on create, and a capture answer that does not say how much
/// was captured.
extension HoldService {
    /// The record of an intent Stripe created but refused (`error.payment_intent` on a
    /// declined create): not capturable, owned like any hold, never minted.
    func refusedHold(_ intentID: String, operation: CreateOperation) -> Hold {
        let now = clock.now()
        return Hold(
            id: intentID, status: .requiresPaymentMethod, amount: operation.params.amount, currency: operation.params.currency,
            description: operation.params.description, customerEmail: operation.params.receiptEmail,
            propertyID: operation.propertyID, tenantID: operation.tenantID, metadata: operation.params.stripeHeldMetadata,
            client: operation.client, tier: operation.tier, tierLimit: operation.tierLimit, policyRevision: operation.policyRevision,
            createOperationKey: operation.key, createdAt: now, updatedAt: now, stripeStateAt: now)
    }

    /// Nobody will confirm a refused intent again (the client got the refusal, not its
    /// client secret), so it is canceled at Stripe rather than left open and re-read by
    /// every reconciliation pass. Best effort: on failure the hold stays as recorded.
    func cancelRefusedIntent(_ intentID: String, operation: CreateOperation, gateway: any PaymentGateway, logger: Logger) async {
        do {
            let intent = try await gateway.cancelPaymentIntent(id: intentID, idempotencyKey: "chittycharge-cancel-refused-" + operation.key)
            if let hold = try await store.hold(id: intentID) { _ = try await applyStripeView(intent, to: hold) }
        } catch {
            logger.warning("could not cancel the intent Stripe refused; it is tracked as a failed hold", metadata: [
                "hold.id": .string(intentID), "error": "\(error)",
            ])
        }
    }

    /// A capture answer without `amount_received` (nor an expanded charge) does not say
    /// how much was captured: read the intent with its charge. If even that fails, Stripe
    /// captured exactly what the successful request asked for.
    func capturedAmountRead(_ intent: PaymentIntent, operation: HoldOperation, gateway: any PaymentGateway, logger: Logger) async -> PaymentIntent {
        var intent = intent
        if let read = try? await gateway.retrievePaymentIntent(id: operation.holdID), let captured = read.capturedAmount {
            intent.amountReceived = captured
        } else {
            logger.warning("Stripe's capture answer did not say how much was captured; recording the amount asked for")
            intent.amountReceived = operation.amount
        }
        return intent
    }
}
