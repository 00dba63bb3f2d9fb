import Foundation
import Logging
import Metrics
import PolicyEngine
import Synchronization

/// Places, reads, captures and releases holds. The rules that keep money safe:
/// - an operation's record (with the idempotency key Stripe will see) is durable before
///   Stripe is called, so a crash can always be finished by replaying the same key;
/// - at most one capture or cancel per hold is pending or done (the store's
///   compare-and-set), and in this process identical requests share one call;
/// - nothing is acknowledged to a client before the store has it.
public final class HoldService: Sendable {
    public struct Configuration: Sendable {
        public var defaultCurrency: String
        /// Stripe keeps idempotency keys for at least 24 hours; replaying a create after that
        /// could place a second hold, so older pending creates are flagged, not replayed.
        public var maxCreateReplayAge: TimeInterval
        /// Pending operations younger than this are left to the request that owns them.
        public var recoveryGrace: TimeInterval
        public var mintBatchSize: Int
        /// A capturable hold with no action due this long before Stripe's deadline is
        /// flagged: nothing will happen to it before Stripe releases it on its own.
        public var expiryMargin: TimeInterval
        /// `payment_method_types[]` sent with every create (`PaymentMethodCaptureWindow`).
        public var paymentMethodTypes: [String]
        /// Limits on `hold_schedule`'s reauthorizations (`ReauthorizationLimits`).
        public var reauthorization: ReauthorizationLimits
        /// Who this scheduler is when it claims a scheduled action: unique per process
        /// (two processes with one id would both run an action).
        public var schedulerID: String
        /// How long a claimed action is this scheduler's alone. Past it another scheduler may
        /// take the action over (its runner is presumed dead), so it is longer than a run
        /// (Stripe calls with their retries) takes. A takeover is safe for money anyway: the
        /// capture or release replays the same operation and idempotency key.
        public var scheduleLease: TimeInterval

        public init(defaultCurrency: String = "usd", maxCreateReplayAge: TimeInterval = 23 * 3600,
                    recoveryGrace: TimeInterval = 30, mintBatchSize: Int = 50, expiryMargin: TimeInterval = 12 * 3600,
                    paymentMethodTypes: [String] = PaymentMethodCaptureWindow.defaultTypes,
                    reauthorization: ReauthorizationLimits = ReauthorizationLimits(),
                    schedulerID: String = "scheduler-" + UUID().uuidString.lowercased(), scheduleLease: TimeInterval = 300) {
            self.schedulerID = schedulerID
            self.scheduleLease = scheduleLease
            self.paymentMethodTypes = paymentMethodTypes
            self.reauthorization = reauthorization
            self.defaultCurrency = defaultCurrency
            self.maxCreateReplayAge = maxCreateReplayAge
            self.recoveryGrace = recoveryGrace
            self.mintBatchSize = mintBatchSize
            self.expiryMargin = expiryMargin
        }
    }

    /// Lets tests stop the service at the worst moment: after Stripe acted, before the
    /// store knows. Throwing here simulates a crash at that point.
    public typealias FaultPoint = @Sendable (_ step: String) throws -> Void

    public let store: any HoldStore
    /// Nil when Stripe is not configured: hold routes then answer 503.
    public let gateway: (any PaymentGateway)?
    public let minter: any ChittyIDMinter
    public let policies: PolicyEngine
    public let clock: any WallClock
    public let configuration: Configuration
    let logger: Logger
    let faultPoint: FaultPoint?
    /// Where counters go (the process's metrics system unless a test passes its own).
    let metricsFactory: any MetricsFactory
    private let createFlights = SingleFlight<Result<Hold, HoldServiceError>>()
    private let operationFlights = SingleFlight<Result<StoredResponse, HoldServiceError>>()
    private let mintFlights = SingleFlight<Bool>()
    /// Holds whose scheduled action this service is running now. The store's lease keeps
    /// other schedulers off a running action; this keeps two passes of this one apart, since
    /// a scheduler may claim again an action it holds (to retry it).
    let schedulesRunning = Mutex<Set<String>>([])
    /// Holds already re-asked under the active revision after a reload: a revision whose
    /// hook fails keeps the old action, and must not be asked again every tick.
    let schedulesReevaluated = Mutex<(revision: String, holds: Set<String>)>(("", []))

    public init(store: any HoldStore, gateway: (any PaymentGateway)?, minter: any ChittyIDMinter,
                policies: PolicyEngine, clock: any WallClock = SystemWallClock(),
                configuration: Configuration = Configuration(), logger: Logger = Logger(label: "chittycharge.holds"),
                faultPoint: FaultPoint? = nil, metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.store = store
        self.gateway = gateway
        self.minter = minter
        self.policies = policies
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.faultPoint = faultPoint
        self.metricsFactory = metricsFactory
    }

    /// Counts a hold flagged for a person's attention, by reason.
    func countFlagged(_ reason: String) {
        Counter(label: "chittycharge_holds_flagged_total", dimensions: [("reason", reason)], factory: metricsFactory).increment()
    }

    // MARK: Placing a hold

    /// The outcome of `placeHold`: the hold, and whether this answers an earlier request
    /// with the same `Idempotency-Key`.
    public struct Placement: Sendable {
        public var hold: Hold
        public var replayed: Bool
    }

    /// Places a hold (or answers a retry with the first result), counted by outcome.
    /// `logger` is the caller's (a request's, with `request.id` and `client`): lines about
    /// this hold are written through it.
    public func placeHold(_ request: HoldRequest, client: String, idempotencyKey: String?, logger: Logger) async throws(HoldServiceError) -> Placement {
        do {
            let placement = try await place(request, client: client, idempotencyKey: idempotencyKey, logger: logger)
            countPlacement(placement.replayed ? "replayed" : "placed")
            return placement
        } catch {
            countPlacement(Self.metricOutcome(of: error))
            throw error
        }
    }

    private func place(_ request: HoldRequest, client: String, idempotencyKey: String?, logger requestLogger: Logger) async throws(HoldServiceError) -> Placement {
        guard let gateway else { throw .stripeNotConfigured }
        let now = clock.now()
        let revision = policies.revision
        let evaluation = revision.holdLimit(request.policyInput(client: client))
        let decision = evaluation.decision
        var params = try request.paymentIntentParams()
        params.paymentMethodTypes = configuration.paymentMethodTypes
        var operation = CreateOperation(
            key: "chittycharge-create-" + UUID().uuidString.lowercased(), client: client,
            clientIdempotencyKey: idempotencyKey, requestHash: request.fingerprint, params: params,
            tier: decision.tier, tierLimit: Int(decision.maxAmount), policyRevision: evaluation.revision,
            propertyID: request.propertyID, tenantID: request.tenantID, createdAt: now, updatedAt: now)

        var logger = requestLogger
        logger[metadataKey: "policy.revision"] = .string(evaluation.revision)
        var refusal: HoldServiceError?
        if evaluation.source == .failClosed {
            // A broken policy refuses, but transiently: not stored for replay.
            logger.error("hold_limit failed; refusing the hold", metadata: ["policy.error": .string(evaluation.error.map { "\($0)" } ?? "")])
            await recordDecision(evaluation, input: request.policyInputValue(client: client), subject: operation.key, logger: logger)
            throw HoldServiceError(httpStatus: 503, message: "The hold policy failed to decide; the hold was not placed", code: "policy_error",
                                   details: ["policy_revision": .string(evaluation.revision)])
        }
        if !decision.allow || Int64(request.amount) > decision.maxAmount {
            var details = decision.details ?? [:]
            details["current_tier"] = details["current_tier"] ?? .string(decision.tier)
            details["max_amount"] = details["max_amount"] ?? .integer(decision.maxAmount)
            details["amount"] = .integer(Int64(request.amount))
            details["policy_revision"] = .string(evaluation.revision)
            let reason = decision.reason ?? (decision.allow
                ? "Amount exceeds limit for \(decision.tier) tier"
                : "The hold policy refused this hold")
            refusal = HoldServiceError(httpStatus: 400, message: reason, code: "hold_limit_exceeded", details: details)
            operation.state = .failed
            operation.failure = refusal?.stored
        }

        let claim: OperationClaim<CreateOperation>
        do {
            claim = try await store.claimCreate(
                operation, decision: decisionRecord(evaluation, input: request.policyInputValue(client: client), subject: operation.key))
        } catch {
            logger.error("could not record the create operation", metadata: ["error": "\(error)"])
            throw .storage(error)
        }
        switch claim {
        case .started(let started):
            if let refusal {
                logger.info("hold refused by policy", metadata: ["hold.tier": .string(decision.tier), "hold.amount": "\(request.amount)"])
                throw refusal
            }
            let hold = try await executeCreate(started, gateway: gateway, logger: requestLogger).get()
            return Placement(hold: hold, replayed: false)
        case .existing(let earlier):
            guard earlier.requestHash == operation.requestHash else {
                throw .conflict("This Idempotency-Key was already used with a different request body", code: "idempotency_key_reused")
            }
            switch earlier.state {
            case .succeeded:
                guard let holdID = earlier.holdID, let hold = try await readHold(holdID) else {
                    throw .storage(HoldStoreError.notFound(earlier.key))
                }
                return Placement(hold: hold, replayed: true)
            case .failed:
                throw HoldServiceError(stored: earlier.failure ?? HoldServiceError.conflict("The earlier attempt failed", code: "earlier_attempt_failed").stored)
            case .pending:
                // The first attempt did not finish (Stripe unreachable, or a crash): finish
                // it with the same Stripe idempotency key, which cannot create a second hold.
                let hold = try await executeCreate(earlier, gateway: gateway, logger: requestLogger).get()
                return Placement(hold: hold, replayed: true)
            }
        }
    }

    /// `logger` is the request's when a client asked; background work (recovery,
    /// reauthorization) passes none and the service's own is used.
    func executeCreate(_ operation: CreateOperation, gateway: any PaymentGateway, logger baseLogger: Logger? = nil) async -> Result<Hold, HoldServiceError> {
        await createFlights.run(operation.key) { [self] in
            var logger = baseLogger ?? self.logger
            logger[metadataKey: "operation.key"] = .string(operation.key)
            let intent: PaymentIntent
            do throws(PaymentGatewayError) {
                intent = try await gateway.createPaymentIntent(operation.params, idempotencyKey: operation.key)
            } catch {
                switch error {
                case .unavailable(let reason), .serverErrorReplayed(let reason):
                    // A replayed 5xx on a create cannot be reconciled by reading an intent
                    // (we do not know its id), and a new key could place a second hold: the
                    // operation stays pending until Stripe's key expires (`maxCreateReplayAge`).
                    logger.warning("Stripe did not answer the create; the operation stays pending", metadata: ["error": .string(reason)])
                    return .failure(.stripeUnavailable("hold", reason: reason))
                case .rejected(let detail):
                    let failure = HoldServiceError.fromStripe(detail, doing: "hold")
                    do {
                        if let intentID = detail.paymentIntentID {
                            // Stripe made the intent and then refused it (a declined saved
                            // card): track it as a failed hold so its webhooks find it.
                            try await store.recordRefusedCreate(
                                key: operation.key, hold: refusedHold(intentID, operation: operation), response: failure.stored, at: clock.now())
                        } else {
                            try await store.failCreate(key: operation.key, response: failure.stored, at: clock.now())
                        }
                    } catch {
                        logger.error("could not record the failed create", metadata: ["error": "\(error)"])
                        return .failure(.storage(error))
                    }
                    logger.info("Stripe refused the hold", metadata: ["stripe.code": .string(detail.code ?? detail.type)])
                    if let intentID = detail.paymentIntentID {
                        await cancelRefusedIntent(intentID, operation: operation, gateway: gateway, logger: logger)
                    }
                    return .failure(failure)
                }
            }
            do {
                try faultPoint?("create.after_stripe")
            } catch {
                return .failure(HoldServiceError(httpStatus: 500, message: "Injected fault after the Stripe create", code: "injected_fault"))
            }
            let now = clock.now()
            var hold = Hold(
                id: intent.id, status: intent.status, amount: intent.amount ?? operation.params.amount,
                currency: intent.currency ?? operation.params.currency, description: operation.params.description,
                customerEmail: operation.params.receiptEmail, propertyID: operation.propertyID, tenantID: operation.tenantID,
                metadata: operation.params.stripeHeldMetadata, clientSecret: intent.clientSecret, client: operation.client,
                tier: operation.tier, tierLimit: operation.tierLimit, policyRevision: operation.policyRevision,
                createOperationKey: operation.key, createdAt: intent.created ?? now, updatedAt: now)
            hold.apply(intent, at: now)
            if hold.status == .requiresCapture, hold.captureBefore == nil {
                // Until Stripe's `capture_before` arrives: the window of the method, shorter
                // when we confirmed a saved card ourselves (merchant-initiated).
                let merchantInitiated = operation.params.confirm && operation.params.paymentMethod != nil
                hold.captureBefore = now.addingTimeInterval(PaymentMethodCaptureWindow.estimate(
                    forTypes: intent.paymentMethodTypes.isEmpty ? (operation.params.paymentMethodTypes ?? []) : intent.paymentMethodTypes,
                    merchantInitiated: merchantInitiated))
            }
            // Mint before storing, so a hold usually reaches the store complete in one
            // transaction. A failure leaves it pending and `completeCreate` queues it for
            // the outbox; a crash before the store write only wastes an unused id.
            do {
                hold.chittyID = try await minter.mint(entityType: "AUTH", metadata: Self.mintMetadata(hold))
                hold.chittyIDStatus = .minted
            } catch {
                logger.warning("ChittyID minting failed; the outbox will retry", metadata: ["hold.id": .string(hold.id), "error": "\(error)"])
            }
            do {
                try await store.completeCreate(key: operation.key, hold: hold)
            } catch {
                logger.error("Stripe placed the hold but the store failed; recovery will finish it", metadata: ["hold.id": .string(hold.id), "error": "\(error)"])
                return .failure(.storage(error))
            }
            logger.info("hold placed", metadata: ["hold.id": .string(hold.id), "hold.status": .string(hold.status.rawValue)])
            if hold.status == .requiresCapture, let scheduled = await schedule(hold) {
                hold.scheduledAction = scheduled
            }
            return .success(hold)
        }
    }

    private func decisionRecord(_ evaluation: PolicyEvaluation<HoldLimitHook.Decision>, input: PolicyValue, subject: String) -> PolicyDecisionRecord {
        PolicyDecisionRecord(
            id: UUID().uuidString.lowercased(), hook: PolicyHook.holdLimit.name, revision: evaluation.revision,
            source: evaluation.source.rawValue, input: JSONCoding.encode(input),
            decision: JSONCoding.encode(HoldLimitHook.policyValue(of: evaluation.decision)), subject: subject,
            createdAt: clock.now())
    }

    /// For a decision with no operation to go with (a failing policy).
    private func recordDecision(_ evaluation: PolicyEvaluation<HoldLimitHook.Decision>, input: PolicyValue, subject: String, logger: Logger) async {
        let record = decisionRecord(evaluation, input: input, subject: subject)
        do {
            try await store.recordDecision(record)
        } catch {
            logger.error("could not record the hold_limit decision", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Reading

    private func readHold(_ id: String) async throws(HoldServiceError) -> Hold? {
        do {
            return try await store.hold(id: id)
        } catch {
            throw .storage(error)
        }
    }

    /// One hold from the store; with `refresh`, Stripe's current view first. A hold
    /// `access` does not permit is not found (and Stripe is not asked about it).
    public func hold(id: String, refresh: Bool = false, access: HoldAccess = .everyHold) async throws(HoldServiceError) -> Hold {
        guard let hold = try await readHold(id), access.permits(hold) else { throw .notFound(holdID: id) }
        guard refresh else { return hold }
        guard let gateway else { throw .stripeNotConfigured }
        let intent: PaymentIntent
        do {
            intent = try await gateway.retrievePaymentIntent(id: id)
        } catch {
            switch error {
            case .unavailable(let reason), .serverErrorReplayed(let reason): throw .stripeUnavailable("refresh", reason: reason)
            case .rejected(let detail): throw .fromStripe(detail, doing: "refresh")
            }
        }
        // Through the webhook rules, so a refresh can never undo a newer change.
        _ = try await applyStripeView(intent, to: hold)
        guard let current = try await readHold(id) else { throw .notFound(holdID: id) }
        return current
    }

    public func hold(chittyID: String, access: HoldAccess = .everyHold) async throws(HoldServiceError) -> Hold {
        let found: Hold?
        do {
            found = try await store.hold(chittyID: chittyID)
        } catch {
            throw .storage(error)
        }
        guard let found, access.permits(found) else {
            throw HoldServiceError(httpStatus: 404, message: "No hold with ChittyID '\(chittyID)'", code: "hold_not_found")
        }
        return found
    }

    /// The holds `access` permits that match `filter`. A cursor that names a hold outside
    /// `access` is answered as one that names no hold.
    public func holds(matching filter: HoldFilter, access: HoldAccess = .everyHold) async throws(HoldServiceError) -> [Hold] {
        do {
            return try await store.holds(matching: access.restricting(filter))
        } catch HoldStoreError.notFound {
            throw .invalidInput("starting_after names no hold", field: "starting_after")
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Capture and cancel

    /// Captures `amount` (or everything capturable). The rest of the hold is released.
    /// A hold `access` does not permit is not found, and nothing is done at Stripe.
    public func capture(holdID: String, amount: Int?, access: HoldAccess = .everyHold, logger: Logger) async throws(HoldServiceError) -> CaptureReceipt {
        let response = try await perform(.capture, holdID: holdID, requestedAmount: amount, byScheduler: false, access: access, logger: logger)
        return try decode(CaptureReceipt.self, from: response)
    }

    public func cancel(holdID: String, access: HoldAccess = .everyHold, logger: Logger) async throws(HoldServiceError) -> CancelReceipt {
        let response = try await perform(.cancel, holdID: holdID, requestedAmount: nil, byScheduler: false, access: access, logger: logger)
        return try decode(CancelReceipt.self, from: response)
    }

    private func decode<T: Decodable>(_ type: T.Type, from response: StoredResponse) throws(HoldServiceError) -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let value = try? decoder.decode(type, from: response.body) else {
            throw HoldServiceError(httpStatus: 500, message: "A stored operation result could not be read", code: "storage_error")
        }
        return value
    }

    /// A capture or cancel by a client or by the scheduler, counted by outcome.
    func perform(_ kind: HoldOperationKind, holdID: String, requestedAmount: Int?, byScheduler: Bool,
                 access: HoldAccess = .everyHold, logger: Logger? = nil) async throws(HoldServiceError) -> StoredResponse {
        do {
            let response = try await claimAndExecute(kind, holdID: holdID, requestedAmount: requestedAmount, byScheduler: byScheduler, access: access, logger: logger)
            countOperation(kind, byScheduler: byScheduler, outcome: "succeeded")
            return response
        } catch {
            countOperation(kind, byScheduler: byScheduler, outcome: Self.metricOutcome(of: error))
            throw error
        }
    }

    private func claimAndExecute(_ kind: HoldOperationKind, holdID: String, requestedAmount: Int?, byScheduler: Bool,
                                 access: HoldAccess, logger requestLogger: Logger?) async throws(HoldServiceError) -> StoredResponse {
        guard let gateway else { throw .stripeNotConfigured }
        guard let hold = try await readHold(holdID), access.permits(hold) else { throw .notFound(holdID: holdID) }
        var amount: Int?
        if kind == .capture {
            if let requestedAmount {
                guard requestedAmount > 0 else { throw .invalidInput("amount_to_capture must be a positive number of cents", field: "amount_to_capture") }
                guard requestedAmount <= hold.amount else {
                    throw HoldServiceError(httpStatus: 400, message: "amount_to_capture \(requestedAmount) is more than the \(hold.amount) authorised",
                                           code: "amount_exceeds_authorized", details: ["authorized_amount": .integer(Int64(hold.amount))])
                }
            }
            // "The whole hold" is stated as a number, so a retry that names it explicitly is
            // recognised as the same capture.
            amount = requestedAmount ?? (hold.amountCapturable > 0 ? hold.amountCapturable : hold.amount)
        }
        let now = clock.now()
        let candidate = HoldOperation(
            key: "chittycharge-\(kind.rawValue)-" + UUID().uuidString.lowercased(), holdID: holdID, kind: kind,
            amount: amount, createdAt: now, updatedAt: now)
        let claim: OperationClaim<HoldOperation>
        do {
            claim = try await store.claimOperation(candidate)
        } catch {
            throw .storage(error)
        }
        switch claim {
        case .started(let operation):
            if !byScheduler, hold.scheduledAction?.state == .pending {
                // A person acted: the policy's plan for this hold no longer applies.
                do {
                    try await store.setScheduledAction(nil, holdID: holdID)
                } catch {
                    (requestLogger ?? logger).warning("could not cancel the scheduled action", metadata: ["hold.id": .string(holdID), "error": "\(error)"])
                }
            }
            if hold.status.isFinal {
                // Captured or released elsewhere (dashboard, expiry): nothing to do at Stripe.
                let refusal = HoldServiceError.conflict(
                    "This hold is already \(hold.status == .canceled ? "canceled" : "captured")", code: "hold_already_final",
                    details: ["status": .string(hold.status.rawValue)])
                try? await store.failOperation(key: operation.key, response: refusal.stored, at: now)
                throw refusal
            }
            return try await execute(operation, gateway: gateway, logger: requestLogger).get()
        case .existing(let earlier):
            guard earlier.kind == kind, earlier.amount == amount else {
                throw .conflict(
                    earlier.kind == .capture
                        ? "This hold already has a capture of \(earlier.amount ?? 0) (\(earlier.state.rawValue)); it cannot be \(kind == .capture ? "captured again with another amount" : "canceled")"
                        : "This hold was already canceled (\(earlier.state.rawValue))",
                    code: earlier.kind == .capture ? "hold_already_captured" : "hold_already_canceled",
                    details: ["operation": .string(earlier.kind.rawValue), "state": .string(earlier.state.rawValue)]
                        .merging(earlier.amount.map { ["amount": PolicyValue.integer(Int64($0))] } ?? [:]) { a, _ in a })
            }
            switch earlier.state {
            case .succeeded:
                guard let response = earlier.response else { throw .storage(HoldStoreError.notFound(earlier.key)) }
                return response
            case .pending:
                return try await execute(earlier, gateway: gateway, logger: requestLogger).get()
            case .failed:
                // The store only reports live operations as existing; a failed one freed the slot.
                throw HoldServiceError(stored: earlier.response ?? HoldServiceError.conflict("The earlier attempt failed", code: "earlier_attempt_failed").stored)
            }
        }
    }

    private func execute(_ operation: HoldOperation, gateway: any PaymentGateway, logger baseLogger: Logger? = nil) async -> Result<StoredResponse, HoldServiceError> {
        await operationFlights.run(operation.key) { [self] in
            var logger = baseLogger ?? self.logger
            logger[metadataKey: "hold.id"] = .string(operation.holdID)
            logger[metadataKey: "operation.key"] = .string(operation.key)
            let what = operation.kind == .capture ? "capture" : "cancel"
            var intent: PaymentIntent
            do throws(PaymentGatewayError) {
                switch operation.kind {
                case .capture:
                    intent = try await gateway.capturePaymentIntent(id: operation.holdID, amountToCapture: operation.amount, idempotencyKey: operation.key)
                case .cancel:
                    intent = try await gateway.cancelPaymentIntent(id: operation.holdID, idempotencyKey: operation.key)
                }
            } catch {
                switch error {
                case .unavailable(let reason):
                    logger.warning("Stripe did not answer the \(what); the operation stays pending", metadata: ["error": .string(reason)])
                    return .failure(.stripeUnavailable(what, reason: reason))
                case .serverErrorReplayed(let reason):
                    // Retrying this key can only replay the error: find out what happened.
                    return await settleAfterReplayedServerError(operation, gateway: gateway, reason: reason, logger: logger)
                case .rejected(let detail):
                    let failure = HoldServiceError.fromStripe(detail, doing: what)
                    do {
                        try await store.failOperation(key: operation.key, response: failure.stored, at: clock.now())
                    } catch {
                        return .failure(.storage(error))
                    }
                    logger.info("Stripe refused the \(what)", metadata: ["stripe.code": .string(detail.code ?? detail.type)])
                    await refreshAfterRefusal(holdID: operation.holdID, gateway: gateway, logger: logger)
                    return .failure(failure)
                }
            }
            do {
                try faultPoint?("\(what).after_stripe")
            } catch {
                return .failure(HoldServiceError(httpStatus: 500, message: "Injected fault after the Stripe \(what)", code: "injected_fault"))
            }
            if operation.kind == .capture, intent.status == .succeeded, intent.capturedAmount == nil {
                intent = await capturedAmountRead(intent, operation: operation, gateway: gateway, logger: logger)
            }
            let now = clock.now()
            do {
                guard var hold = try await store.hold(id: operation.holdID) else {
                    return .failure(.notFound(holdID: operation.holdID))
                }
                hold.apply(intent, at: now)
                let response: StoredResponse = operation.kind == .capture
                    ? .ok(CaptureReceipt(hold: hold, capturedAt: hold.capturedAt ?? now))
                    : .ok(CancelReceipt(hold: hold, canceledAt: hold.canceledAt ?? now))
                try await store.completeOperation(key: operation.key, hold: hold, response: response, at: now)
                logger.info(operation.kind == .capture ? "hold captured" : "hold released", metadata: ["hold.status": .string(hold.status.rawValue), "hold.amount_received": "\(hold.amountReceived)"])
                return .success(response)
            } catch {
                logger.error("Stripe did the \(what) but the store failed; recovery will finish it", metadata: ["error": "\(error)"])
                return .failure(.storage(error))
            }
        }
    }

    /// After Stripe refused a capture or cancel because of the intent's state, our copy is
    /// stale: take Stripe's view so the next answer is right.
    private func refreshAfterRefusal(holdID: String, gateway: any PaymentGateway, logger: Logger) async {
        guard let intent = try? await gateway.retrievePaymentIntent(id: holdID),
              let hold = try? await store.hold(id: holdID) else { return }
        do {
            _ = try await applyStripeView(intent, to: hold)
        } catch {
            logger.warning("could not refresh the hold after a refusal", metadata: ["error": "\(error.message)"])
        }
    }

    // MARK: Recovery and the ChittyID outbox

    /// Finishes what a crash or an unreachable Stripe left pending, replaying each with
    /// its original idempotency key. Run at startup (grace 0) and periodically.
    @discardableResult
    public func recoverPendingOperations(grace: TimeInterval? = nil) async -> (resolved: Int, stillPending: Int) {
        guard let gateway else { return (0, 0) }
        let cutoff = clock.now().addingTimeInterval(-(grace ?? configuration.recoveryGrace))
        var resolved = 0
        var stillPending = 0
        do {
            for operation in try await store.pendingCreates() where operation.updatedAt <= cutoff {
                if clock.now().timeIntervalSince(operation.createdAt) > configuration.maxCreateReplayAge {
                    let abandoned = HoldServiceError(
                        httpStatus: 502, message: "Stripe never confirmed this hold and its idempotency key has expired; check the Stripe dashboard for an intent with this operation key",
                        code: "create_abandoned", details: ["operation_key": .string(operation.key)])
                    logger.error("abandoning a create older than Stripe's idempotency window", metadata: ["operation.key": .string(operation.key)])
                    try await store.failCreate(key: operation.key, response: abandoned.stored, at: clock.now())
                    resolved += 1
                    continue
                }
                switch await executeCreate(operation, gateway: gateway) {
                case .success: resolved += 1
                case .failure(let error) where error.code == "stripe_unavailable" || error.code == "storage_error": stillPending += 1
                case .failure: resolved += 1
                }
            }
            for operation in try await store.pendingOperations() where operation.updatedAt <= cutoff {
                switch await execute(operation, gateway: gateway) {
                case .success: resolved += 1
                case .failure(let error) where error.code == "stripe_unavailable" || error.code == "storage_error": stillPending += 1
                case .failure: resolved += 1
                }
            }
        } catch {
            logger.error("recovery could not read pending operations", metadata: ["error": "\(error)"])
        }
        if resolved + stillPending > 0 {
            logger.info("recovery pass", metadata: ["resolved": "\(resolved)", "still_pending": "\(stillPending)"])
        }
        return (resolved, stillPending)
    }

    /// What the ChittyID service is told about a hold.
    static func mintMetadata(_ hold: Hold) -> [String: String] {
        var metadata = ["hold_id": hold.id, "amount": String(hold.amount), "currency": hold.currency]
        if let propertyID = hold.propertyID { metadata["property_id"] = propertyID }
        if let tenantID = hold.tenantID { metadata["tenant_id"] = tenantID }
        return metadata
    }

    /// Mints the ChittyID of one hold now. True when it is minted (by this call or before).
    @discardableResult
    public func mint(holdID: String) async -> Bool {
        await mintFlights.run(holdID) { [self] in
            guard let hold = try? await store.hold(id: holdID) else { return false }
            if hold.chittyIDStatus == .minted { return true }
            do {
                let chittyID = try await minter.mint(entityType: "AUTH", metadata: Self.mintMetadata(hold))
                try await store.recordMinted(holdID: holdID, chittyID: chittyID, at: clock.now())
                logger.info("ChittyID minted", metadata: ["hold.id": .string(holdID), "chitty_id": .string(chittyID)])
                return true
            } catch {
                logger.warning("ChittyID minting failed; the outbox will retry", metadata: ["hold.id": .string(holdID), "error": "\(error)"])
                return false
            }
        }
    }

    /// One pass over the due ChittyID jobs; failures back off exponentially (5 s doubling,
    /// at most an hour). Returns how many were minted.
    @discardableResult
    public func processMintOutbox() async -> Int {
        let jobs: [ChittyIDMintJob]
        do {
            jobs = try await store.dueMintJobs(at: clock.now(), limit: configuration.mintBatchSize)
        } catch {
            logger.error("could not read the ChittyID outbox", metadata: ["error": "\(error)"])
            return 0
        }
        var minted = 0
        for job in jobs {
            if await mint(holdID: job.holdID) {
                minted += 1
                continue
            }
            let attempts = job.attempts + 1
            let delay = min(3600, 5 * pow(2, Double(min(attempts - 1, 20))))
            let next = ChittyIDMintJob(holdID: job.holdID, attempts: attempts, nextAttemptAt: clock.now().addingTimeInterval(delay),
                                       lastError: "minting failed (attempt \(attempts))")
            do {
                try await store.rescheduleMint(next)
            } catch {
                logger.error("could not reschedule a ChittyID job", metadata: ["hold.id": .string(job.holdID), "error": "\(error)"])
            }
        }
        return minted
    }
}
