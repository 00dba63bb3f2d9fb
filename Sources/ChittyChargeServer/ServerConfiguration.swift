import Foundation

/// What the HTTP layer needs to know about its wiring; the executable fills it from the
/// environment and flags (API.md's variables).
public struct ServerConfiguration: Sendable {
    /// API.md: bodies above 64 KiB are refused with 413.
    public static let maxBodySize = 64 * 1024

    public var host: String
    public var port: Int
    public var version: String
    /// `ALLOWED_ORIGINS`, handed to the `cors` hook as `config.allowed_origins`.
    public var allowedOrigins: [String]
    /// How Stripe is reached, for `/health`: `emulator`, `test`, `live` or nil (not configured).
    public var stripeMode: String?
    /// How ChittyIDs are minted, for `/health`: `emulator`, `remote` or nil.
    public var chittyIDMode: String?
    /// Which store, for `/health` (`sqlite` or `postgresql`).
    public var database: String
    /// This process among the instances sharing the store (`GET /admin/policies`); set by the wiring.
    public var instanceID: String?
    /// `STRIPE_WEBHOOK_SECRET` (`whsec_…`): without it `/webhook` answers 503, so Stripe
    /// keeps the events and retries.
    public var webhookSecret: String?
    /// How old (or how far ahead) a webhook signature's timestamp may be.
    public var webhookTolerance: TimeInterval
    /// A request must arrive whole (head and body) within this time of its first byte, or
    /// the connection is closed (`REQUEST_TIMEOUT`): a slow client cannot hold it open.
    public var requestTimeout: Duration
    /// A connection with no request in progress is closed after this long (`IDLE_TIMEOUT`).
    public var idleTimeout: Duration
    /// The only folder under which `POST /admin/policies/backtest` may read a candidate given
    /// as `dir` (`POLICY_BACKTEST_ROOT`); nil: candidates come as `files` only.
    public var backtestRoot: String?

    public init(host: String = "127.0.0.1", port: Int = 8787, version: String = "1.0.0", allowedOrigins: [String] = [],
                stripeMode: String? = nil, chittyIDMode: String? = nil, database: String = "sqlite",
                webhookSecret: String? = nil, webhookTolerance: TimeInterval = 300,
                requestTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60), backtestRoot: String? = nil) {
        self.host = host
        self.port = port
        self.version = version
        self.allowedOrigins = allowedOrigins
        self.stripeMode = stripeMode
        self.chittyIDMode = chittyIDMode
        self.database = database
        self.webhookSecret = webhookSecret
        self.webhookTolerance = webhookTolerance
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.backtestRoot = backtestRoot
    }
}
