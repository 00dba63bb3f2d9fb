import Foundation

/// The settings of the hold services, each read by the service it names.
public struct HoldServiceConfiguration: Sendable {
    /// Placement: the currency of a request that names none.
    public var defaultCurrency: String
    /// Recovery: Stripe keeps idempotency keys for at least 24 hours; replaying a create
    /// after that could place a second hold, so older pending creates are flagged, not replayed.
    public var maxCreateReplayAge: TimeInterval
    /// Recovery: pending operations younger than this are left to the request that owns them
    /// (and, with a shared store, a request finding one waits for it rather than replaying it).
    public var recoveryGrace: TimeInterval
    /// ChittyID outbox: jobs per pass.
    public var mintBatchSize: Int
    /// Schedule: a capturable hold with no action due this long before Stripe's deadline
    /// is flagged: nothing will happen to it before Stripe releases it on its own.
    public var expiryMargin: TimeInterval
    /// Placement: `payment_method_types[]` sent with every create (`PaymentMethodCaptureWindow`).
    public var paymentMethodTypes: [String]
    /// Schedule: limits on `hold_schedule`'s reauthorizations (`ReauthorizationLimits`).
    public var reauthorization: ReauthorizationLimits
    /// Schedule: who this scheduler is when it claims a scheduled action; unique per
    /// process (two processes with one id would both run an action).
    public var schedulerID: String
    /// Schedule: how long a claimed action is this scheduler's alone. Past it another
    /// scheduler may take the action over (its runner is presumed dead), so it is longer
    /// than a run (Stripe calls with their retries) takes. A takeover is safe for money
    /// anyway: the capture or release replays the same operation and idempotency key.
    public var scheduleLease: TimeInterval
    /// Several instances share the store (PostgreSQL): a young pending operation may be
    /// running on another one (`OtherInstanceWait`).
    public var storeIsShared: Bool
    /// How long a request waits for another instance's operation before 409 `operation_in_progress`.
    public var otherInstanceWait: Duration

    public init(defaultCurrency: String = "usd", maxCreateReplayAge: TimeInterval = 23 * 3600,
                recoveryGrace: TimeInterval = 30, mintBatchSize: Int = 50, expiryMargin: TimeInterval = 12 * 3600,
                paymentMethodTypes: [String] = PaymentMethodCaptureWindow.defaultTypes,
                reauthorization: ReauthorizationLimits = ReauthorizationLimits(),
                schedulerID: String = "scheduler-" + UUID().uuidString.lowercased(), scheduleLease: TimeInterval = 300,
                storeIsShared: Bool = false, otherInstanceWait: Duration = .seconds(5)) {
        self.storeIsShared = storeIsShared
        self.otherInstanceWait = otherInstanceWait
        self.defaultCurrency = defaultCurrency
        self.maxCreateReplayAge = maxCreateReplayAge
        self.recoveryGrace = recoveryGrace
        self.mintBatchSize = mintBatchSize
        self.expiryMargin = expiryMargin
        self.paymentMethodTypes = paymentMethodTypes
        self.reauthorization = reauthorization
        self.schedulerID = schedulerID
        self.scheduleLease = scheduleLease
    }
}

/// Lets tests stop a service at the worst moment: after Stripe acted, before the store
/// knows. Throwing here simulates a crash at that point (`create.after_stripe`,
/// `capture.after_stripe`, `cancel.after_stripe`).
public typealias FaultPoint = @Sendable (_ step: String) throws -> Void
