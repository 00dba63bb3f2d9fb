import Foundation
import Logging

/// Stripe stores a 5xx under its idempotency key for at least 24 hours and replays it
/// ("reconcile the request before starting another operation"). A capture or cancel whose
/// key keeps answering a replayed 5xx would otherwise stay pending, replayed every
/// recovery pass, and lock its hold (409 to every other capture or cancel) for a day.
///
/// The rule: as soon as Stripe marks a 5xx as a replay for our key
/// (`PaymentGatewayError.serverErrorReplayed`, in the request itself or on a recovery
/// pass), read the PaymentIntent and close the operation by what it shows:
/// - the action happened (captured for a capture, canceled for a cancel): the operation
///   succeeds with Stripe's real amounts, and its receipt is what retries get;
/// - it did not: the operation fails (502 `stripe_error_not_applied`, or 409
///   `hold_already_final` when the intent reached the other final state), which frees the
///   hold, so the next request starts a new operation with a new idempotency key;
/// - the intent cannot be read: the operation stays pending and the next pass tries again.
/// No double capture is possible: Stripe captures a PaymentIntent at most once, and never
/// more than `amount_capturable`, whatever keys are used.
extension HoldOperations {
    func settleAfterReplayedServerError(
        _ operation: HoldOperation, gateway: any PaymentGateway, reason: String, logger: Logger
    ) async -> Result<HoldOperationReceipt, HoldServiceError> {
        let what = operation.kind == .capture ? "capture" : "cancel"
        let intent: PaymentIntent
        do throws(PaymentGatewayError) {
            intent = try await gateway.retrievePaymentIntent(id: operation.holdID)
        } catch {
            logger.warning("could not read the PaymentIntent to reconcile a replayed Stripe error; the operation stays pending",
                           metadata: ["error": "\(error)"])
            return .failure(.stripeUnavailable(what, reason: "Stripe answered with a server error it keeps for this request, and the PaymentIntent could not be read to reconcile it"))
        }
        let done = operation.kind == .capture ? intent.status == .succeeded : intent.status == .canceled
        let now = clock.now()
        let hold: Hold
        do {
            guard let stored = try await store.hold(id: operation.holdID) else { return .failure(.notFound(holdID: operation.holdID)) }
            hold = stored
        } catch {
            return .failure(.storage(error))
        }
        if done {
            var settled = hold
            settled.apply(intent, at: now)
            let receipt = HoldOperationReceipt(operation.kind, for: settled, at: now)
            do {
                try await store.completeOperation(key: operation.key, hold: settled, receipt: receipt, at: now)
            } catch {
                return .failure(.storage(error))
            }
            metrics.countReplayedServerError(operation.kind, outcome: "done")
            logger.notice("Stripe answered a server error but did the \(what); recorded what it did", metadata: [
                "hold.status": .string(settled.status.rawValue), "hold.amount_received": "\(settled.amountReceived)",
            ])
            return .success(receipt)
        }
        let failure: HoldServiceError = intent.status.isFinal
            ? .conflict("Stripe answered the \(what) with a server error; the hold is \(intent.status == .canceled ? "canceled" : "captured") at Stripe",
                        kind: .holdAlreadyFinal, details: ["status": .string(intent.status.rawValue)])
            : HoldServiceError(.stripeErrorNotApplied, "Stripe answered the \(what) with a server error it keeps for this request, and the PaymentIntent shows nothing was done. Retrying is safe: the next attempt is a new request to Stripe", details: ["status": .string(intent.status.rawValue)])
        do {
            try await store.failOperation(key: operation.key, failure: failure, at: now)
        } catch {
            return .failure(.storage(error))
        }
        do {
            // Take Stripe's view (by the webhook rules) so the hold shows what is true.
            _ = try await stripeSync.applyRead(intent, to: hold, logger: logger)
        } catch {
            logger.warning("could not record Stripe's view after reconciling", metadata: ["error": .string(error.message)])
        }
        metrics.countReplayedServerError(operation.kind, outcome: "not_done")
        logger.warning("Stripe answered a server error and did not do the \(what); the operation is closed so the next request can proceed",
                       metadata: ["stripe.status": .string(intent.status.rawValue), "error": .string(reason)])
        return .failure(failure)
    }
}
