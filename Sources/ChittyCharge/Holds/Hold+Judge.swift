import Foundation

extension PaymentIntentStatus {
    /// How far along the authorization is. Stripe moves forward through these, except that
    /// a failed attempt goes back to `requires_payment_method`; the final two never change.
    var progress: Int {
        switch self {
        case .requiresPaymentMethod: 0
        case .requiresConfirmation: 1
        case .requiresAction: 2
        case .processing: 3
        case .requiresCapture: 4
        case .succeeded, .canceled: 5
        default: 0
        }
    }
}

extension Hold {
    /// How long Stripe keeps an online, customer-initiated card authorization (STRIPE.md).
    public static let customerInitiatedHoldWindow: TimeInterval = 7 * 86_400

    /// Within one second (Stripe's `created` has no finer grain) an event's state, not
    /// its time, says whether it comes after ours: a PaymentIntent back at
    /// `requires_payment_method` *with* a `last_payment_error`, while ours is mid-attempt
    /// (`requires_confirmation` or `requires_action`), is that attempt failing, which can
    /// only come after it started. Without the error it is the intent as first created.
    static func isFailedAttempt(_ event: StripeObservation, after current: PaymentIntentStatus) -> Bool {
        guard let intent = event.paymentIntent, intent.status == .requiresPaymentMethod, intent.lastPaymentError != nil else { return false }
        return current == .requiresAction || current == .requiresConfirmation
    }

    /// What an event means for this hold.
    public enum EventJudgement: Sendable, Equatable {
        /// Apply it: the hold as it becomes.
        case apply(Hold)
        /// Older than what the hold shows, and not a step forward.
        case stale
        /// Nothing to change: the hold is final, already says this, or the type moves no hold.
        case nothingToChange
    }

    /// Monotonic: a final hold (captured or released) never changes; an event older than
    /// the state we hold (`stripeStateAt`) may only move the hold forward (it can only be a
    /// step we missed); a newer one is Stripe's latest word, which may also be a step back
    /// (a failed attempt returns to `requires_payment_method`). A charge's `capture_before`
    /// is Stripe's own deadline and replaces any estimate.
    public func judge(_ event: StripeObservation, receivedAt now: Date) -> EventJudgement {
        guard !status.isFinal else { return .nothingToChange }
        var next = self
        let type = if case .webhook(let type) = event.source { type } else { "" }
        switch type {
        case _ where event.describesPaymentIntent:
            guard let intent = event.paymentIntent else { return .nothingToChange }
            next.status = intent.status
            next.amountCapturable = intent.amountCapturable ?? amountCapturable
            next.amountReceived = intent.capturedAmount ?? amountReceived
            if let deadline = intent.captureBefore { next.captureBefore = deadline }
            if intent.status == .canceled { next.canceledAt = intent.canceledAt ?? event.created }
            if intent.status == .succeeded { next.capturedAt = event.created }
        case "charge.captured":
            next.status = .succeeded
            next.amountCapturable = 0
            if let captured = event.charge?.amountCaptured { next.amountReceived = captured }
            next.capturedAt = event.created
        case "charge.expired":
            next.status = .canceled
            next.amountCapturable = 0
            next.canceledAt = event.created
        case "charge.refunded" where event.charge?.captured == false:
            // Refunding an uncaptured charge releases the authorization: Stripe cancels
            // the PaymentIntent. (A refund after capture changes no hold: it is final.)
            next.status = .canceled
            next.amountCapturable = 0
            next.canceledAt = event.created
        default:
            break
        }
        if let deadline = event.charge?.captureBefore { next.captureBefore = deadline }
        if next.status == .requiresCapture, next.captureBefore == nil {
            // Events carry the charge only as an id. Until Stripe's own deadline arrives
            // (a charge event, or a refresh), assume the documented window for a
            // customer-initiated card hold, counted from when it was authorised.
            next.captureBefore = event.created.addingTimeInterval(
                PaymentMethodCaptureWindow.estimate(forTypes: event.paymentIntent?.paymentMethodTypes ?? []))
        }
        guard next.status != status || next.amountCapturable != amountCapturable || next.amountReceived != amountReceived
                || next.captureBefore != captureBefore else { return .nothingToChange }
        // An event in the same whole second as our state is ordered by the objects' states.
        let sameSecondLater = stripeStateAt.map { event.created.addingTimeInterval(1) > $0 } == true
            && Self.isFailedAttempt(event, after: status)
        let forward = next.status.progress > status.progress || sameSecondLater
        if let observed = stripeStateAt, event.created < observed, !forward {
            // From an older event only Stripe's own capture deadline may still be taken.
            let onlyDeadline = next.status == status && next.amountCapturable == amountCapturable
                && next.amountReceived == amountReceived && event.charge?.captureBefore != nil
            guard onlyDeadline else { return .stale }
        }
        if let observed = stripeStateAt, event.created == observed, next.status.progress < status.progress, !sameSecondLater {
            return .stale
        }
        next.stripeStateAt = max(event.created, stripeStateAt ?? event.created)
        next.updatedAt = now
        return .apply(next)
    }

    /// Judges a webhook event (`judge(_:receivedAt:)` of its observation).
    public func judge(_ event: StripeEvent, receivedAt now: Date) -> EventJudgement {
        judge(StripeObservation(event), receivedAt: now)
    }
}
