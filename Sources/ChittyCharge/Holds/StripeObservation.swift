import Foundation
import JSON

/// What Stripe told us about one PaymentIntent, however we heard it: a verified webhook
/// event, or our own read of the intent (a refresh, a reconciliation pass, the check after
/// a refusal). Both are judged by the same rules (`Hold.judge`) and applied by one path
/// (`StripeSync.apply`), and both land in the hold's history.
public struct StripeObservation: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A webhook event of this type (`payment_intent.*`, `charge.*`, …).
        case webhook(type: String)
        /// We read the PaymentIntent ourselves.
        case read
    }

    /// The event's id; for a read, a fresh id for its history entry.
    public var id: String
    public var source: Source
    /// When Stripe's state was observed: the event's `created` (whole seconds), or when we read it.
    public var created: Date
    /// What the history keeps: the event's body as Stripe signed it, or the fields we read.
    public var payload: Data
    public var paymentIntentID: String?
    /// Present for `payment_intent.*` events and reads.
    public var paymentIntent: PaymentIntent?
    /// Present for `charge.*` events.
    public var charge: ChargeSnapshot?

    public init(_ event: StripeEvent) {
        id = event.id
        source = .webhook(type: event.type)
        created = event.created
        payload = event.payload
        paymentIntentID = event.paymentIntentID
        paymentIntent = event.paymentIntent
        charge = event.charge
    }

    public init(read intent: PaymentIntent, at now: Date) {
        id = "recon_" + UUID().uuidString.lowercased()
        source = .read
        created = now
        payload = JSONCoding.encode([
            "status": intent.status.rawValue, "amount_capturable": String(intent.amountCapturable ?? 0),
            "amount_received": String(intent.amountReceived ?? 0),
        ])
        paymentIntentID = intent.id
        paymentIntent = intent
        charge = nil
    }

    /// The type of its entry in the hold's history.
    public var historyType: String {
        switch source {
        case .webhook(let type): type
        case .read: HoldHistoryEntryType.reconciled
        }
    }

    /// Whether it carries the PaymentIntent's own state (as opposed to a charge's).
    var describesPaymentIntent: Bool {
        switch source {
        case .webhook(let type): type.hasPrefix("payment_intent.")
        case .read: true
        }
    }
}

/// The types of the entries we write into a hold's history ourselves, beside Stripe's
/// webhook events.
public enum HoldHistoryEntryType {
    /// Our own read of Stripe moved the hold (refresh or reconciliation).
    public static let reconciled = "chittycharge.reconciled"
    public static let scheduledCapture = "chittycharge.scheduled_capture"
    public static let scheduledRelease = "chittycharge.scheduled_release"
    public static let scheduledReauthorization = "chittycharge.scheduled_reauthorization"
    public static let reauthorizationRefused = "chittycharge.reauthorization_refused"
}
