import Foundation
import JSON
import Logging

/// Captures and releases holds, by a client or the scheduler. The rules that keep money
/// safe: the operation's record (with the idempotency key Stripe will see) is durable
/// before Stripe is called, so a crash can always be finished by replaying the same key;
/// at most one capture or cancel per hold is live (the store's compare-and-set), and in
/// this process identical requests share one call; nothing is acknowledged before the
/// store has it.
public final class HoldOperations: Sendable {
    public typealias Store = HoldRecords & HoldOperationRecords & ScheduledActionQueue

    let store: any Store
    let gateway: (any PaymentGateway)?
    let stripeSync: StripeSync
    let clock: any WallClock
    let metrics: HoldMetrics
    let logger: Logger
    let faultPoint: FaultPoint?
    private let flights = SingleFlight<Result<HoldOperationReceipt, HoldServiceError>>()
    private let otherInstances: OtherInstanceWait

    public init(store: any Store, gateway: (any PaymentGateway)?, stripeSync: StripeSync, clock: any WallClock,
                configuration: HoldServiceConfiguration = .init(), metrics: HoldMetrics, logger: Logger, faultPoint: FaultPoint? = nil) {
        self.otherInstances = OtherInstanceWait(
            storeIsShared: configuration.storeIsShared, wait: configuration.otherInstanceWait, takeoverAge: configuration.recoveryGrace)
        self.store = store
        self.gateway = gateway
        self.stripeSync = stripeSync
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.faultPoint = faultPoint
    }

    /// Captures `amount` (or everything capturable). The rest of the hold is released.
    /// A hold `access` does not permit is not found, and nothing is done at Stripe.
    /// `logger` is the caller's (a request's, with `request.id` and `client`).
    public func capture(holdID: String, amount: Int?, access: HoldAccess, logger: Logger) async throws(HoldServiceError) -> CaptureReceipt {
        let receipt = try await perform(.capture, holdID: holdID, requestedAmount: amount, byScheduler: false, access: access, logger: logger)
        guard case .captured(let captured) = receipt else { throw Self.mismatchedReceipt }
        return captured
    }

    public func cancel(holdID: String, access: HoldAccess, logger: Logger) async throws(HoldServiceError) -> CancelReceipt {
        let receipt = try await perform(.cancel, holdID: holdID, requestedAmount: nil, byScheduler: false, access: access, logger: logger)
        guard case .canceled(let canceled) = receipt else { throw Self.mismatchedReceipt }
        return canceled
    }

    /// A stored receipt of the other kind: the store returned an operation it should not have.
    private static let mismatchedReceipt = HoldServiceError(.storageError, "A stored operation result could not be read")

    /// A capture or cancel by a client or by the scheduler, counted by outcome.
    func perform(_ kind: HoldOperationKind, holdID: String, requestedAmount: Int?, byScheduler: Bool,
                 access: HoldAccess, logger: Logger? = nil) async throws(HoldServiceError) -> HoldOperationReceipt {
        do {
            let receipt = try await claimAndExecute(kind, holdID: holdID, requestedAmount: requestedAmount, byScheduler: byScheduler, access: access, logger: logger)
            metrics.countOperation(kind, byScheduler: byScheduler, outcome: "succeeded")
            return receipt
        } catch {
            metrics.countOperation(kind, byScheduler: byScheduler, outcome: HoldMetrics.outcome(of: error))
            throw error
        }
    }

    private func claimAndExecute(_ kind: HoldOperationKind, holdID: String, requestedAmount: Int?, byScheduler: Bool,
                                 access: HoldAccess, logger requestLogger: Logger?) async throws(HoldServiceError) -> HoldOperationReceipt {
        guard let gateway else { throw .stripeNotConfigured }
        let found: Hold?
        do {
            found = try await store.hold(id: holdID)
        } catch {
            throw .storage(error)
        }
        guard let hold = found, access.permits(hold) else { throw .notFound(holdID: holdID) }
        var amount: Int?
        if kind == .capture {
            if let requestedAmount {
                guard requestedAmount > 0 else { throw .invalidInput("amount_to_capture must be a positive number of cents", field: "amount_to_capture") }
                guard requestedAmount <= hold.amount else {
                    throw HoldServiceError(.amountExceedsAuthorized, "amount_to_capture \(requestedAmount) is more than the \(hold.amount) authorised", details: ["authorized_amount": .integer(Int64(hold.amount))])
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
                    "This hold is already \(hold.status == .canceled ? "canceled" : "captured")", kind: .holdAlreadyFinal,
                    details: ["status": .string(hold.status.rawValue)])
                try? await store.failOperation(key: operation.key, failure: refusal, at: now)
                throw refusal
            }
            return try await execute(operation, gateway: gateway, logger: requestLogger).get()
        case .existing(let earlier):
            guard earlier.kind == kind, earlier.amount == amount else {
                throw .conflict(
                    earlier.kind == .capture
                        ? "This hold already has a capture of \(earlier.amount ?? 0) (\(earlier.state.rawValue)); it cannot be \(kind == .capture ? "captured again with another amount" : "canceled")"
                        : "This hold was already canceled (\(earlier.state.rawValue))",
                    kind: earlier.kind == .capture ? .holdAlreadyCaptured : .holdAlreadyCanceled,
                    details: ["operation": .string(earlier.kind.rawValue), "state": .string(earlier.state.rawValue)]
                        .merging(earlier.amount.map { ["amount": JSONValue.integer(Int64($0))] } ?? [:]) { a, _ in a })
            }
            switch earlier.state {
            case .succeeded:
                guard let receipt = earlier.receipt else { throw .storage(HoldStoreError.notFound(earlier.key)) }
                return receipt
            case .pending:
                if flights.isRunning(earlier.key) || otherInstances.replaysHere(updatedAt: earlier.updatedAt, now: now) {
                    return try await execute(earlier, gateway: gateway, logger: requestLogger).get()
                }
                return try await awaitOtherInstance(earlier)
            case .failed:
                // The store only reports live operations as existing; a failed one freed the slot.
                throw earlier.failure ?? .conflict("The earlier attempt failed", kind: .earlierAttemptFailed)
            }
        }
    }

    /// The answer of an operation another instance is running, once it settles.
    private func awaitOtherInstance(_ earlier: HoldOperation) async throws(HoldServiceError) -> HoldOperationReceipt {
        let settled = try await otherInstances.awaitSettled { () async throws(HoldServiceError) -> HoldOperation? in
            do {
                let operation = try await store.holdOperation(key: earlier.key)
                return operation?.state == .pending ? nil : operation
            } catch {
                throw .storage(error)
            }
        }
        guard let settled else { throw .inProgress(earlier.kind == .capture ? "capture" : "cancel", key: earlier.key) }
        if settled.state == .succeeded, let receipt = settled.receipt { return receipt }
        throw settled.failure ?? .conflict("The earlier attempt failed", kind: .earlierAttemptFailed)
    }

    /// Calls Stripe for a claimed (or pending) operation with its own idempotency key and
    /// records the result. `logger` is the request's when a client asked; recovery passes
    /// none and the service's own is used.
    func execute(_ operation: HoldOperation, gateway: any PaymentGateway, logger baseLogger: Logger? = nil) async -> Result<HoldOperationReceipt, HoldServiceError> {
        await flights.run(operation.key) { [self] in
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
                        try await store.failOperation(key: operation.key, failure: failure, at: clock.now())
                    } catch {
                        return .failure(.storage(error))
                    }
                    logger.info("Stripe refused the \(what)", metadata: ["stripe.code": .string(detail.code ?? detail.type)])
                    await refreshAfterRefusal(holdID: operation.holdID, logger: logger)
                    return .failure(failure)
                }
            }
            do {
                try faultPoint?("\(what).after_stripe")
            } catch {
                return .failure(HoldServiceError(.injectedFault, "Injected fault after the Stripe \(what)"))
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
                let receipt = HoldOperationReceipt(operation.kind, for: hold, at: now)
                try await store.completeOperation(key: operation.key, hold: hold, receipt: receipt, at: now)
                logger.info(operation.kind == .capture ? "hold captured" : "hold released", metadata: ["hold.status": .string(hold.status.rawValue), "hold.amount_received": "\(hold.amountReceived)"])
                return .success(receipt)
            } catch {
                logger.error("Stripe did the \(what) but the store failed; recovery will finish it", metadata: ["error": "\(error)"])
                return .failure(.storage(error))
            }
        }
    }

    /// After Stripe refused a capture or cancel because of the intent's state, our copy is
    /// stale: take Stripe's view so the next answer is right.
    private func refreshAfterRefusal(holdID: String, logger: Logger) async {
        guard let hold = try? await store.hold(id: holdID) else { return }
        do {
            try await stripeSync.refresh(hold, logger: logger)
        } catch {
            logger.warning("could not refresh the hold after a refusal", metadata: ["error": "\(error.message)"])
        }
    }

    /// A capture answer without `amount_received` (nor an expanded charge) does not say
    /// how much was captured: read the intent with its charge. If even that fails, Stripe
    /// captured exactly what the successful request asked for.
    private func capturedAmountRead(_ intent: PaymentIntent, operation: HoldOperation, gateway: any PaymentGateway, logger: Logger) async -> PaymentIntent {
        var intent = intent
        if let read = try? await gateway.retrievePaymentIntent(id: operation.holdID), let captured = read.capturedAmount {
            intent.amountReceived = captured
        } else {
            logger.warning("Stripe's capture answer did not say how much was captured; recording the amount asked for")
            intent.amountReceived = operation.amount
        }
        return intent
    }
}
