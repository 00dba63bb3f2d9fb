import Foundation
import JSON

/// A PaymentIntent status as Stripe spells it. A struct rather than an enum so a status
/// Stripe adds later decodes instead of failing the whole response.
public struct PaymentIntentStatus: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let requiresPaymentMethod = PaymentIntentStatus("requires_payment_method")
    public static let requiresConfirmation = PaymentIntentStatus("requires_confirmation")
    public static let requiresAction = PaymentIntentStatus("requires_action")
    public static let processing = PaymentIntentStatus("processing")
    public static let requiresCapture = PaymentIntentStatus("requires_capture")
    public static let succeeded = PaymentIntentStatus("succeeded")
    public static let canceled = PaymentIntentStatus("canceled")

    /// Nothing more can happen to the money: captured or released.
    public var isFinal: Bool { self == .succeeded || self == .canceled }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Whether a hold has its ChittyID yet. Minting can fail; the hold is placed anyway and
/// the outbox keeps trying, so `pending` is a normal, visible state, never a made-up id.
public enum ChittyIDStatus: String, Sendable, Codable {
    case minted
    case pending
}

/// One authorization hold: a Stripe PaymentIntent with `capture_method=manual` plus what
/// we know about it. The store is the source of truth; Stripe is asked again on refresh.
public struct Hold: Sendable, Equatable, Codable {
    /// The PaymentIntent id (`pi_…`): the id clients use, as with the earlier service.
    public var id: String
    public var chittyID: String?
    public var chittyIDStatus: ChittyIDStatus
    public var status: PaymentIntentStatus
    public var amount: Int
    public var amountCapturable: Int
    public var amountReceived: Int
    public var currency: String
    public var description: String
    public var customerEmail: String?
    public var propertyID: String?
    public var tenantID: String?
    /// Stripe's copy of the metadata: every value a string, `property_id`/`tenant_id` added.
    public var metadata: [String: String]
    /// The metadata as the client sent it, with its JSON types: what policies see. Written
    /// once with the hold; nil for holds stored before it was kept.
    public var clientMetadata: [String: JSONValue]?
    public var clientSecret: String?
    /// The API client that placed it (a name, never a token).
    public var client: String
    /// The client it belongs to (`HoldAccess`): the one that placed it, or for a hold
    /// stored before owners existed, the client recorded on it (`default` when none was).
    /// Set when the hold is first stored; writing the hold again never changes it.
    public var owner: String
    public var tier: String
    public var tierLimit: Int
    /// The policy revision whose `hold_limit` allowed it.
    public var policyRevision: String
    /// The create operation (and Stripe idempotency key) that made it.
    public var createOperationKey: String
    public var createdAt: Date
    public var updatedAt: Date
    /// Stripe's deadline for capturing, when Stripe told us.
    public var captureBefore: Date?
    public var capturedAt: Date?
    public var canceledAt: Date?
    /// When Stripe's view in this record was observed: the time of our own call's answer,
    /// or the `created` time of the webhook event it came from. An event older than this
    /// may only move the hold forward (see `judge(_:receivedAt:)`).
    public var stripeStateAt: Date?
    /// What `hold_schedule` decided to do with the hold, while it is still to be done.
    /// Owned by the scheduling methods of the store: writing a hold never changes it.
    public var scheduledAction: ScheduledAction?
    /// The hold this one was placed to replace (a reauthorization), and the one that
    /// replaced it.
    public var replaces: String?
    public var replacedBy: String?

    public init(
        id: String, chittyID: String? = nil, chittyIDStatus: ChittyIDStatus = .pending,
        status: PaymentIntentStatus, amount: Int, amountCapturable: Int = 0, amountReceived: Int = 0,
        currency: String, description: String, customerEmail: String? = nil,
        propertyID: String? = nil, tenantID: String? = nil, metadata: [String: String] = [:],
        clientSecret: String? = nil, client: String, owner: String? = nil, tier: String, tierLimit: Int,
        policyRevision: String, createOperationKey: String, createdAt: Date, updatedAt: Date,
        captureBefore: Date? = nil, capturedAt: Date? = nil, canceledAt: Date? = nil, stripeStateAt: Date? = nil,
        scheduledAction: ScheduledAction? = nil, replaces: String? = nil, replacedBy: String? = nil,
        clientMetadata: [String: JSONValue]? = nil
    ) {
        self.clientMetadata = clientMetadata
        self.id = id
        self.chittyID = chittyID
        self.chittyIDStatus = chittyIDStatus
        self.status = status
        self.amount = amount
        self.amountCapturable = amountCapturable
        self.amountReceived = amountReceived
        self.currency = currency
        self.description = description
        self.customerEmail = customerEmail
        self.propertyID = propertyID
        self.tenantID = tenantID
        self.metadata = metadata
        self.clientSecret = clientSecret
        self.client = client
        self.owner = owner ?? client
        self.tier = tier
        self.tierLimit = tierLimit
        self.policyRevision = policyRevision
        self.createOperationKey = createOperationKey
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.captureBefore = captureBefore
        self.capturedAt = capturedAt
        self.canceledAt = canceledAt
        self.stripeStateAt = stripeStateAt
        self.scheduledAction = scheduledAction
        self.replaces = replaces
        self.replacedBy = replacedBy
    }

    /// The metadata as policies see it: the client's types, or for a hold stored before
    /// they were kept, Stripe's strings without the two fields we added.
    public var policyMetadata: [String: JSONValue] {
        if let clientMetadata { return clientMetadata }
        var fields = metadata
        fields["property_id"] = nil
        fields["tenant_id"] = nil
        return fields.mapValues(JSONValue.string)
    }

    /// Takes Stripe's view of the money (status and amounts) without touching our fields.
    public mutating func apply(_ intent: PaymentIntent, at now: Date) {
        status = intent.status
        amountCapturable = intent.amountCapturable ?? amountCapturable
        // `amount_received`, else the expanded charge's `amount_captured`; never a made-up 0.
        amountReceived = intent.capturedAmount ?? amountReceived
        if let deadline = intent.captureBefore { captureBefore = deadline }
        if intent.status == .canceled, canceledAt == nil {
            canceledAt = intent.canceledAt ?? now
        }
        if intent.status == .succeeded, capturedAt == nil { capturedAt = now }
        updatedAt = now
        stripeStateAt = now
    }
}

/// Which holds `GET /api/holds` lists: newest first, `limit` at a time, continuing after
/// the hold `startingAfter` (Stripe's cursor style).
public struct HoldFilter: Sendable, Equatable {
    public var propertyID: String?
    public var tenantID: String?
    public var status: PaymentIntentStatus?
    /// Only holds owned by one of these clients (nil: any owner). The cursor hold must be
    /// one of them too, else it is unknown (`notFound`), as a cursor that names no hold.
    public var owners: Set<String>?
    public var limit: Int
    public var startingAfter: String?

    public init(propertyID: String? = nil, tenantID: String? = nil, status: PaymentIntentStatus? = nil,
                owners: Set<String>? = nil, limit: Int = 20, startingAfter: String? = nil) {
        self.propertyID = propertyID
        self.tenantID = tenantID
        self.status = status
        self.owners = owners
        self.limit = limit
        self.startingAfter = startingAfter
    }
}

/// A capture or release the hold's policy scheduled, with the revision that decided it.
public struct ScheduledAction: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case capture
        case release
        /// A new hold for the same amount on the saved card, then release this one.
        case reauthorize
    }

    public enum State: String, Sendable, Codable {
        /// Waiting for its time.
        case pending
        /// Claimed by a scheduler (see `lease`); after a crash it is run again (safely: the
        /// capture or release reuses its operation and idempotency key).
        case running
    }

    /// A running action's claim: which scheduler runs it, and until when the others keep
    /// off it. Past `until` the runner is presumed dead and another may take it over.
    public struct Lease: Sendable, Equatable, Codable {
        public var owner: String
        public var until: Date

        public init(owner: String, until: Date) {
            self.owner = owner
            self.until = until
        }
    }

    public var kind: Kind
    public var at: Date
    /// For a capture: how much; nil captures everything capturable.
    public var amount: Int?
    public var revision: String
    public var state: State
    /// Set while running: who claimed it (`HoldStore.claimScheduledAction`).
    public var lease: Lease?

    public init(kind: Kind, at: Date, amount: Int? = nil, revision: String, state: State = .pending, lease: Lease? = nil) {
        self.kind = kind
        self.at = at
        self.amount = amount
        self.revision = revision
        self.state = state
        self.lease = lease
    }
}
