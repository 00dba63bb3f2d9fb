import Foundation
import JSON

/// Every way a hold operation can fail: a kind (a stable machine code), a human sentence
/// and optional details. The server chooses the HTTP status from the kind; the store keeps
/// failures as these values (an idempotent retry gets the identical answer).
public struct HoldServiceError: Error, Sendable, Equatable {
    /// The kinds of failure, named by the API's `code`.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        // The request cannot be done as asked.
        case invalidRequest = "invalid_request"
        case amountExceedsAuthorized = "amount_exceeds_authorized"
        case holdLimitExceeded = "hold_limit_exceeded"
        case holdNotFound = "hold_not_found"
        // The hold's state or an earlier request stands in the way.
        case idempotencyKeyReused = "idempotency_key_reused"
        /// A booking event id sent again with a different type, time or details.
        case bookingEventConflict = "booking_event_conflict"
        case earlierAttemptFailed = "earlier_attempt_failed"
        case holdAlreadyFinal = "hold_already_final"
        case holdAlreadyCaptured = "hold_already_captured"
        case holdAlreadyCanceled = "hold_already_canceled"
        case reauthorizationImpossible = "reauthorization_impossible"
        case reauthorizationNotNeeded = "reauthorization_not_needed"
        case reauthorizationRefused = "reauthorization_refused"
        case reauthorizationIncomplete = "reauthorization_incomplete"
        case reauthorizationFailed = "reauthorization_failed"
        // Stripe refused, for good.
        case cardDeclined = "card_declined"
        case paymentIntentUnexpectedState = "payment_intent_unexpected_state"
        case chargeExpiredForCapture = "charge_expired_for_capture"
        case stripeResourceMissing = "stripe_resource_missing"
        case stripeInvalidRequest = "stripe_invalid_request"
        case stripeAuthenticationFailed = "stripe_authentication_failed"
        case stripeIdempotencyError = "stripe_idempotency_error"
        // Nothing was decided; trying again may work.
        case stripeUnavailable = "stripe_unavailable"
        case stripeErrorNotApplied = "stripe_error_not_applied"
        case createAbandoned = "create_abandoned"
        case storageError = "storage_error"
        /// The database did not answer in time (down, restarting, every connection busy).
        case databaseUnavailable = "database_unavailable"
        /// The same operation is running on another instance and did not finish while we waited.
        case operationInProgress = "operation_in_progress"
        case policyError = "policy_error"
        case stripeNotConfigured = "stripe_not_configured"
        case webhookContention = "webhook_contention"
        /// A test stopped the service on purpose (`FaultPoint`).
        case injectedFault = "injected_fault"
    }

    public var kind: Kind
    public var message: String
    public var details: [String: JSONValue]?

    public init(_ kind: Kind, _ message: String, details: [String: JSONValue]? = nil) {
        self.kind = kind
        self.message = message
        self.details = details
    }

    /// The API's machine code.
    public var code: String { kind.rawValue }

    /// Stripe or the store did not answer: the operation stays pending, and trying it again
    /// (same idempotency key) may finish it.
    public var leavesOperationPending: Bool {
        kind == .stripeUnavailable || kind == .storageError || kind == .databaseUnavailable
    }

    public static func invalidInput(_ message: String, field: String? = nil) -> HoldServiceError {
        HoldServiceError(.invalidRequest, message, details: field.map { ["field": .string($0)] })
    }

    public static func notFound(holdID: String) -> HoldServiceError {
        HoldServiceError(.holdNotFound, "No hold with id '\(holdID)'")
    }

    public static func conflict(_ message: String, kind: Kind, details: [String: JSONValue]? = nil) -> HoldServiceError {
        HoldServiceError(kind, message, details: details)
    }

    public static func stripeUnavailable(_ what: String, reason: String) -> HoldServiceError {
        HoldServiceError(.stripeUnavailable, "Stripe did not confirm the \(what): \(reason). Retrying is safe: the retry reuses the same Stripe idempotency key.")
    }

    public static func inProgress(_ what: String, key: String) -> HoldServiceError {
        HoldServiceError(.operationInProgress, "This \(what) is still running (on another instance); retry shortly for its answer",
                         details: ["operation": .string(key)])
    }

    public static func storage(_ error: any Error) -> HoldServiceError {
        if case HoldStoreError.unavailable = error {
            return HoldServiceError(.databaseUnavailable, "The database is not reachable now; nothing was acknowledged. Retrying is safe.")
        }
        return HoldServiceError(.storageError, "The hold store failed; nothing was acknowledged")
    }

    public static let stripeNotConfigured = HoldServiceError(
        .stripeNotConfigured, "Stripe is not configured: set STRIPE_SECRET_KEY, or start with --stripe emulator for the built-in emulator")

    /// What a final Stripe error means for our client.
    public static func fromStripe(_ detail: PaymentErrorDetail, doing what: String) -> HoldServiceError {
        var details: [String: JSONValue] = ["stripe_type": .string(detail.type), "stripe_message": .string(detail.message)]
        if let code = detail.code { details["stripe_code"] = .string(code) }
        if let param = detail.param { details["param"] = .string(param) }
        if detail.type == "card_error" {
            if let decline = detail.declineCode { details["decline_code"] = .string(decline) }
            return HoldServiceError(.cardDeclined, "The card was declined: \(detail.message)", details: details)
        }
        switch detail.code {
        case "payment_intent_unexpected_state":
            return HoldServiceError(.paymentIntentUnexpectedState, "Stripe refused the \(what): \(detail.message)", details: details)
        case "charge_expired_for_capture":
            return HoldServiceError(.chargeExpiredForCapture, "Stripe refused the \(what): \(detail.message)", details: details)
        case "resource_missing":
            return HoldServiceError(.stripeResourceMissing, "Stripe does not know this PaymentIntent: \(detail.message)", details: details)
        default:
            break
        }
        if detail.httpStatus == 401 || detail.httpStatus == 403 {
            return HoldServiceError(.stripeAuthenticationFailed, "Stripe refused our API key; check STRIPE_SECRET_KEY")
        }
        if detail.type == "idempotency_error" {
            return HoldServiceError(.stripeIdempotencyError, "Stripe refused the \(what) as an idempotency conflict: \(detail.message)", details: details)
        }
        return HoldServiceError(.stripeInvalidRequest, "Stripe refused the \(what): \(detail.message)", details: details)
    }
}

/// Kept as `{"error": message, "code": kind, "details": …}`: the same words the API shows.
extension HoldServiceError: Codable {
    private enum CodingKeys: String, CodingKey {
        case message = "error", kind = "code", details
    }
}
