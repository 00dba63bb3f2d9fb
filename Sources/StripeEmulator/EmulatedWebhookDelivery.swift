import Foundation

/// Where the emulator posts its events, as a Stripe webhook endpoint would be configured
/// in the dashboard: one URL, its `whsec_…` signing secret, and how hard to retry.
public struct EmulatedWebhookEndpoint: Sendable, Equatable {
    public var url: String
    public var secret: String
    public var retryPolicy: EmulatedWebhookRetryPolicy
    /// When false, recorded events are not sent on their own; tests send them with
    /// `deliverEvents(_:)` or `redeliver(eventID:)` in the order they choose.
    public var automaticDelivery: Bool
}

/// Stripe retries an undelivered event for up to three days with growing gaps. A local
/// emulator compresses that schedule to seconds so demos and tests see the same shape
/// (failure, backoff, eventual success or giving up) without waiting hours.
public struct EmulatedWebhookRetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maximumAttempts: Int
    /// The wait before the second attempt; each later wait doubles, up to `maximumDelay`.
    public var initialDelay: Duration
    public var maximumDelay: Duration
    /// For one POST, connecting to last response byte. Stripe gives endpoints a few
    /// seconds too; a receiver slower than that counts as failed and is retried.
    public var requestTimeout: Duration

    public init(maximumAttempts: Int = 8, initialDelay: Duration = .milliseconds(200),
                maximumDelay: Duration = .seconds(10), requestTimeout: Duration = .seconds(5)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = max(.zero, initialDelay)
        self.maximumDelay = max(self.initialDelay, maximumDelay)
        self.requestTimeout = requestTimeout > .zero ? requestTimeout : .seconds(5)
    }

    /// 8 attempts, 0.2 s doubling, capped at 10 s: about 25 s from first to last attempt.
    public static let compressed = EmulatedWebhookRetryPolicy()

    /// How long to wait before attempt number `attempt` (2 or more).
    public func delay(beforeAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        var doublings = attempt - 2
        // Doubling stops at the cap, so large attempt numbers cannot overflow.
        while doublings > 0, delay < maximumDelay {
            delay = delay * 2
            doublings -= 1
        }
        return min(delay, maximumDelay)
    }
}

/// One delivery of one event to the endpoint, with all its attempts: what a test reads
/// to know an event arrived without sleeping. A redelivery of the same event is a new
/// entry with the same `eventID`.
public struct EmulatedWebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        /// An attempt is running or a retry is waiting.
        case inFlight = "in_flight"
        /// The endpoint answered 2xx.
        case delivered
        /// Every attempt failed, or the endpoint was removed or replaced between attempts.
        case failed
    }

    /// Increasing in the order deliveries began.
    public let number: Int
    public let eventID: String
    public let eventType: String
    public let url: String
    public internal(set) var attempts: Int
    /// The status of the last attempt that got an answer, if the last attempt got one.
    public internal(set) var lastHTTPStatus: Int?
    /// Why the last attempt got no answer (connection refused, timeout, …).
    public internal(set) var lastError: String?
    /// The `t=` of the last signature sent: each attempt is signed afresh.
    public internal(set) var lastSignatureTimestamp: Int64?
    public internal(set) var state: State

    public var delivered: Bool { state == .delivered }
    public var inFlight: Bool { state == .inFlight }
}

/// What one POST to the endpoint came to.
enum WebhookAttemptOutcome: Sendable {
    case answered(status: Int)
    case noAnswer(String)

    /// Stripe counts only 2xx as delivered; redirects are failures too.
    var isDelivered: Bool {
        if case .answered(let status) = self { return (200..<300).contains(status) }
        return false
    }
}
