import ChittyCharge
import ChittyChargeServer
import ChittyIDClient
import HoldStorePostgres
import Logging
import StripeEmulator

extension ChittyChargeSystem {
    /// What to wire. `serve` fills it from flags and the environment (after refusing what
    /// cannot work); tests and benchmarks fill it by hand.
    public struct Configuration: Sendable {
        /// The store `build` opens (and migrates).
        public var database: DatabaseSetup
        /// The folder the policy engine was loaded from, which reloads read again.
        public var policyDirectory: String
        public var stripe: StripeSetup
        public var chittyID: ChittyIDSetup
        public var holds: HoldServiceConfiguration
        /// Host, port, origins, webhook secret, timeouts, backtest root. Its `stripeMode`,
        /// `chittyIDMode` and `database` are set by `build` from what it wired.
        public var server: ServerConfiguration
        public var authenticator: ClientAuthenticator
        /// Nil (and no `admins`): the admin routes answer 503.
        public var adminToken: String?
        /// Named admins (`CHITTYCHARGE_ADMINS_FILE`), beside `adminToken`.
        public var admins = ClientAuthenticator()
        /// The hold service's clock (the Stripe emulator keeps its own).
        public var clock: any WallClock
        public var faultPoint: FaultPoint?

        /// A SQLite file at `databasePath`.
        public init(databasePath: String, policyDirectory: String, stripe: StripeSetup, chittyID: ChittyIDSetup,
                    holds: HoldServiceConfiguration = .init(), server: ServerConfiguration, authenticator: ClientAuthenticator,
                    adminToken: String? = nil, clock: any WallClock = SystemWallClock(), faultPoint: FaultPoint? = nil) {
            self.init(database: .sqlite(path: databasePath), policyDirectory: policyDirectory, stripe: stripe, chittyID: chittyID,
                      holds: holds, server: server, authenticator: authenticator, adminToken: adminToken, clock: clock,
                      faultPoint: faultPoint)
        }

        public init(database: DatabaseSetup, policyDirectory: String, stripe: StripeSetup, chittyID: ChittyIDSetup,
                    holds: HoldServiceConfiguration = .init(), server: ServerConfiguration, authenticator: ClientAuthenticator,
                    adminToken: String? = nil, clock: any WallClock = SystemWallClock(), faultPoint: FaultPoint? = nil) {
            self.database = database
            self.policyDirectory = policyDirectory
            self.stripe = stripe
            self.chittyID = chittyID
            self.holds = holds
            self.server = server
            self.authenticator = authenticator
            self.adminToken = adminToken
            self.clock = clock
            self.faultPoint = faultPoint
        }
    }

    /// Where holds are kept.
    public enum DatabaseSetup: Sendable {
        /// One SQLite file, served by this process alone (the embedded default).
        case sqlite(path: String)
        /// A PostgreSQL database that several instances share.
        case postgres(PostgresConnectionSettings)
    }

    /// How holds reach Stripe.
    public enum StripeSetup: Sendable {
        /// No Stripe: `/health` says so and hold routes answer 503.
        case notConfigured
        /// Stripe's API with a secret key; `/health` says `live` or `test` by its prefix.
        case api(secretKey: String, apiBase: String)
        /// The in-process emulator. `apiPort`: also serve its HTTP API on 127.0.0.1 there.
        /// `sendsWebhooks`: it posts signed webhooks to this server's `/webhook` (with a fresh
        /// secret when none is configured), as a Stripe dashboard endpoint would.
        case emulator(StripeEmulator, apiPort: Int? = nil, sendsWebhooks: Bool = false)
        /// A gateway the caller made (tests: a client over HTTP to an emulator on a live port),
        /// shown as `mode` in `/health`.
        case gateway(any PaymentGateway, mode: String)
    }

    /// How ChittyIDs are minted.
    public enum ChittyIDSetup: Sendable {
        /// Every mint fails, so holds wait with `chitty_id` pending until it is configured.
        case notConfigured
        /// Minted locally (`CHITTY-AUTH-EMU-…`); pass the minter to make it fail on purpose.
        case emulator(EmulatedChittyIDMinter = EmulatedChittyIDMinter())
        /// The ChittyID service, with the shared client token.
        case remote(baseURL: String, token: String)
    }

    /// One logger per part, so each line says where it comes from. `serve` labels them
    /// `chittycharge`, `chittycharge.store`, …; tests and benchmarks pass one quiet logger.
    public struct Loggers: Sendable {
        /// What was wired, warnings about what was not, and the background work.
        public var startup: Logger
        public var store: Logger
        public var stripe: Logger
        public var stripeEmulator: Logger
        public var holds: Logger
        public var policy: Logger
        /// The application's request log.
        public var http: Logger

        public init(startup: Logger, store: Logger, stripe: Logger, stripeEmulator: Logger,
                    holds: Logger, policy: Logger, http: Logger) {
            self.startup = startup
            self.store = store
            self.stripe = stripe
            self.stripeEmulator = stripeEmulator
            self.holds = holds
            self.policy = policy
            self.http = http
        }

        /// The same logger everywhere.
        public init(all logger: Logger) {
            self.init(startup: logger, store: logger, stripe: logger, stripeEmulator: logger,
                      holds: logger, policy: logger, http: logger)
        }
    }
}
