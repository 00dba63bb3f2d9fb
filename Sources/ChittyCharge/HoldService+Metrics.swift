import Metrics

extension HoldService {
    static let placementsLabel = "chittycharge_hold_placements_total"
    static let operationsLabel = "chittycharge_hold_operations_total"

    /// Makes the usual series of the placement and operation counters exist at 0, so an
    /// alert on "declines per minute" or "scheduler captures failing" works before the first
    /// such event rather than seeing no series at all.
    public func registerKnownMetricSeries() {
        for outcome in ["placed", "replayed", "refused", "declined", "policy_error", "stripe_unavailable", "stripe_error", "storage_error"] {
            _ = Counter(label: Self.placementsLabel, dimensions: [("outcome", outcome)], factory: metricsFactory)
        }
        for operation in ["capture", "release"] {
            for trigger in ["api", "scheduler"] {
                for outcome in ["succeeded", "conflict", "stripe_unavailable", "stripe_error"] {
                    _ = Counter(label: Self.operationsLabel, dimensions: [("operation", operation), ("trigger", trigger), ("outcome", outcome)],
                                factory: metricsFactory)
                }
            }
        }
    }

    /// Counts one answer to `placeHold`: `placed`, `replayed` (an `Idempotency-Key` retry
    /// answered with the first result) or a failure outcome (`metricOutcome(of:)`).
    func countPlacement(_ outcome: String) {
        Counter(label: Self.placementsLabel, dimensions: [("outcome", outcome)], factory: metricsFactory).increment()
    }

    /// Counts one capture or release, by whom it was asked (`api` or `scheduler`) and how
    /// it ended (`succeeded`, including an identical retry answered with the first result).
    func countOperation(_ kind: HoldOperationKind, byScheduler: Bool, outcome: String) {
        Counter(
            label: Self.operationsLabel,
            dimensions: [("operation", kind == .capture ? "capture" : "release"), ("trigger", byScheduler ? "scheduler" : "api"), ("outcome", outcome)],
            factory: metricsFactory
        ).increment()
    }

    /// A failure as a metric label: a few stable words, whatever the message (the error's
    /// `code` names Stripe's own codes too, which would make the label unbounded).
    static func metricOutcome(of error: HoldServiceError) -> String {
        switch error.code {
        case "hold_limit_exceeded": return "refused"
        case "policy_error": return "policy_error"
        case "card_declined": return "declined"
        case "stripe_unavailable": return "stripe_unavailable"
        case "stripe_not_configured": return "not_configured"
        case "storage_error": return "storage_error"
        case "hold_not_found": return "not_found"
        case "invalid_request", "amount_exceeds_authorized": return "invalid"
        case let code where code.hasPrefix("stripe_") || code == "payment_intent_unexpected_state" || code == "charge_expired_for_capture":
            return "stripe_error"
        default:
            break
        }
        return switch error.httpStatus {
        case 400: "invalid"
        case 404: "not_found"
        case 409: "conflict"
        default: "error"
        }
    }
}
