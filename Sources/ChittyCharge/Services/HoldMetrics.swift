import Metrics

/// The hold services' counters, in one place so their labels and outcome words stay
/// consistent (and `/metrics` can show every usual series at 0 from the start).
public struct HoldMetrics: Sendable {
    static let placementsLabel = "chittycharge_hold_placements_total"
    static let operationsLabel = "chittycharge_hold_operations_total"

    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Makes the usual series of the placement and operation counters exist at 0, so an
    /// alert on "declines per minute" or "scheduler captures failing" works before the first
    /// such event rather than seeing no series at all.
    public func registerKnownSeries() {
        for outcome in ["placed", "replayed", "refused", "declined", "policy_error", "stripe_unavailable", "stripe_error", "storage_error"] {
            _ = Counter(label: Self.placementsLabel, dimensions: [("outcome", outcome)], factory: factory)
        }
        for operation in ["capture", "release"] {
            for trigger in ["api", "scheduler"] {
                for outcome in ["succeeded", "conflict", "stripe_unavailable", "stripe_error"] {
                    _ = Counter(label: Self.operationsLabel, dimensions: [("operation", operation), ("trigger", trigger), ("outcome", outcome)],
                                factory: factory)
                }
            }
        }
    }

    /// One answer to `placeHold`: `placed`, `replayed` (an `Idempotency-Key` retry answered
    /// with the first result) or a failure outcome (`outcome(of:)`).
    func countPlacement(_ outcome: String) {
        Counter(label: Self.placementsLabel, dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// One capture or release, by whom it was asked (`api` or `scheduler`) and how it ended
    /// (`succeeded`, including an identical retry answered with the first result).
    func countOperation(_ kind: HoldOperationKind, byScheduler: Bool, outcome: String) {
        Counter(
            label: Self.operationsLabel,
            dimensions: [("operation", kind == .capture ? "capture" : "release"), ("trigger", byScheduler ? "scheduler" : "api"), ("outcome", outcome)],
            factory: factory
        ).increment()
    }

    /// A hold flagged for a person's attention, by reason.
    func countFlagged(_ reason: String) {
        Counter(label: "chittycharge_holds_flagged_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// One reconciliation after a replayed Stripe 5xx: `done` (Stripe had acted) or
    /// `not_done` (the operation was closed so a new one can start).
    func countReplayedServerError(_ kind: HoldOperationKind, outcome: String) {
        Counter(label: "chittycharge_stripe_replayed_errors_total",
                dimensions: [("operation", kind == .capture ? "capture" : "release"), ("outcome", outcome)],
                factory: factory).increment()
    }

    /// A failure as a metric label: a few stable words (the kinds name Stripe's own
    /// refusals too, which would make the label wider than a dashboard needs).
    static func outcome(of error: HoldServiceError) -> String {
        switch error.kind {
        case .holdLimitExceeded: "refused"
        case .policyError: "policy_error"
        case .cardDeclined: "declined"
        case .stripeUnavailable: "stripe_unavailable"
        case .stripeNotConfigured: "not_configured"
        case .storageError: "storage_error"
        case .databaseUnavailable: "database_unavailable"
        case .operationInProgress: "in_progress"
        case .holdNotFound: "not_found"
        case .invalidRequest, .amountExceedsAuthorized: "invalid"
        case .paymentIntentUnexpectedState, .chargeExpiredForCapture, .stripeResourceMissing, .stripeInvalidRequest,
             .stripeAuthenticationFailed, .stripeIdempotencyError, .stripeErrorNotApplied:
            "stripe_error"
        case .idempotencyKeyReused, .bookingEventConflict, .earlierAttemptFailed, .holdAlreadyFinal, .holdAlreadyCaptured, .holdAlreadyCanceled,
             .reauthorizationImpossible, .reauthorizationNotNeeded, .reauthorizationRefused, .reauthorizationIncomplete,
             .reauthorizationFailed:
            "conflict"
        case .createAbandoned, .webhookContention, .injectedFault: "error"
        }
    }
}
