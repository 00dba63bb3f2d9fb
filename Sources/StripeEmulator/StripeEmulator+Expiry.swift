import ChittyCharge
import Foundation

/// Stripe releases an uncaptured hold at its `capture_before`; the emulator applies that
/// whenever an intent is looked at.
extension StripeEmulator {
    /// The intent by id, after applying any hold expiry due by the clock.
    func existingPaymentIntent(id: String) throws(StripeEmulatorError) -> EmulatedPaymentIntent {
        guard let intent = touchPaymentIntent(id: id) else {
            throw .resourceMissing("No such payment_intent: '\(id)'", param: "intent")
        }
        return intent
    }

    func touchPaymentIntent(id: String) -> EmulatedPaymentIntent? {
        guard var intent = paymentIntentsByID[id] else { return nil }
        _ = expireIfLapsed(&intent, now: clock.now())
        return intent
    }

    /// An uncaptured hold past `capture_before` is released by Stripe: the intent becomes
    /// `canceled` (reason `automatic`) and the charge is refunded. Applied lazily, whenever
    /// the intent is next looked at, which is indistinguishable from outside.
    func expireIfLapsed(_ intent: inout EmulatedPaymentIntent, now: Date) -> Bool {
        guard intent.paymentIntentStatus == .requiresCapture, let chargeID = intent.latestChargeID, var charge = chargesByID[chargeID],
              let deadline = charge.captureBefore, now >= deadline
        else { return false }
        intent.paymentIntentStatus = .canceled
        intent.canceledAt = deadline
        intent.cancellationReason = "automatic"
        intent.amountCapturable = 0
        intent.authorizationExpired = true
        charge.refunded = true
        charge.amountRefunded = charge.amount
        chargesByID[chargeID] = charge
        paymentIntentsByID[intent.id] = intent
        recordEvent("charge.expired", charge.json, at: deadline)
        recordEvent("payment_intent.canceled", intentJSON(intent, expand: []), at: deadline)
        return true
    }
}
