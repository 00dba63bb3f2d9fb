import Foundation
import Logging

/// Turns a claimed create operation into a hold: calls Stripe with the operation's own
/// idempotency key (so a retry, a recovery pass or a reauthorization resuming after a
/// crash can never place a second hold), mints the ChittyID, records the hold, and hands
/// a capturable hold to the planner.
public final class HoldCreator: Sendable {
    public typealias Store = CreateOperationRecords & HoldRecords

    let store: any Store
    let minter: any ChittyIDMinter
    let planner: SchedulePlanner
    let stripeSync: StripeSync
    let clock: any WallClock
    let logger: Logger
    let faultPoint: FaultPoint?
    private let flights = SingleFlight<Result<Hold, HoldServiceError>>()

    public init(store: any Store, minter: any ChittyIDMinter, planner: SchedulePlanner, stripeSync: StripeSync,
                clock: any WallClock, logger: Logger, faultPoint: FaultPoint? = nil) {
        self.store = store
        self.minter = minter
        self.planner = planner
        self.stripeSync = stripeSync
        self.clock = clock
        self.logger = logger
        self.faultPoint = faultPoint
    }

    /// Whether this process is running the create with `key` now.
    func isRunning(_ key: String) -> Bool {
        flights.isRunning(key)
    }

    /// `logger` is the request's when a client asked; background work (recovery,
    /// reauthorization) passes none and the service's own is used.
    func execute(_ operation: CreateOperation, gateway: any PaymentGateway, logger baseLogger: Logger? = nil) async -> Result<Hold, HoldServiceError> {
        await flights.run(operation.key) { [self] in
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
                    return await recordRefusal(detail, of: operation, gateway: gateway, logger: logger)
                }
            }
            do {
                try faultPoint?("create.after_stripe")
            } catch {
                return .failure(HoldServiceError(.injectedFault, "Injected fault after the Stripe create"))
            }
            var hold = Self.hold(from: intent, operation: operation, at: clock.now())
            // Mint before storing, so a hold usually reaches the store complete in one
            // transaction. A failure leaves it pending and `completeCreate` queues it for
            // the outbox; a crash before the store write only wastes an unused id.
            do {
                hold.chittyID = try await minter.mint(entityType: "AUTH", metadata: hold.chittyIDMintMetadata)
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
            if hold.status == .requiresCapture, let scheduled = await planner.schedule(hold, logger: logger) {
                hold.scheduledAction = scheduled
            }
            return .success(hold)
        }
    }

    /// The hold as Stripe created it for `operation`.
    private static func hold(from intent: PaymentIntent, operation: CreateOperation, at now: Date) -> Hold {
        var hold = Hold(
            id: intent.id, status: intent.status, amount: intent.amount ?? operation.params.amount,
            currency: intent.currency ?? operation.params.currency, description: operation.params.description,
            customerEmail: operation.params.receiptEmail, propertyID: operation.propertyID, tenantID: operation.tenantID,
            metadata: operation.params.stripeHeldMetadata, clientSecret: intent.clientSecret, client: operation.client,
            tier: operation.tier, tierLimit: operation.tierLimit, policyRevision: operation.policyRevision,
            createOperationKey: operation.key, createdAt: intent.created ?? now, updatedAt: now,
            clientMetadata: operation.clientMetadata)
        hold.apply(intent, at: now)
        if hold.status == .requiresCapture, hold.captureBefore == nil {
            // Until Stripe's `capture_before` arrives: the window of the method, shorter
            // when we confirmed a saved card ourselves (merchant-initiated).
            let merchantInitiated = operation.params.confirm && operation.params.paymentMethod != nil
            hold.captureBefore = now.addingTimeInterval(PaymentMethodCaptureWindow.estimate(
                forTypes: intent.paymentMethodTypes.isEmpty ? (operation.params.paymentMethodTypes ?? []) : intent.paymentMethodTypes,
                merchantInitiated: merchantInitiated))
        }
        return hold
    }

    /// Stripe refused the create for good: the operation fails with what the client is
    /// told. When Stripe made the intent and then refused it (a declined saved card), it
    /// is tracked as a failed hold so its webhooks find it, and canceled at Stripe.
    private func recordRefusal(_ detail: PaymentErrorDetail, of operation: CreateOperation, gateway: any PaymentGateway,
                               logger: Logger) async -> Result<Hold, HoldServiceError> {
        let failure = HoldServiceError.fromStripe(detail, doing: "hold")
        do {
            if let intentID = detail.paymentIntentID {
                try await store.recordRefusedCreate(
                    key: operation.key, hold: refusedHold(intentID, operation: operation), failure: failure, at: clock.now())
            } else {
                try await store.failCreate(key: operation.key, failure: failure, at: clock.now())
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

    /// The record of an intent Stripe created but refused (`error.payment_intent` on a
    /// declined create): not capturable, owned like any hold, never minted.
    private func refusedHold(_ intentID: String, operation: CreateOperation) -> Hold {
        let now = clock.now()
        return Hold(
            id: intentID, status: .requiresPaymentMethod, amount: operation.params.amount, currency: operation.params.currency,
            description: operation.params.description, customerEmail: operation.params.receiptEmail,
            propertyID: operation.propertyID, tenantID: operation.tenantID, metadata: operation.params.stripeHeldMetadata,
            client: operation.client, tier: operation.tier, tierLimit: operation.tierLimit, policyRevision: operation.policyRevision,
            createOperationKey: operation.key, createdAt: now, updatedAt: now, stripeStateAt: now,
            clientMetadata: operation.clientMetadata)
    }

    /// Nobody will confirm a refused intent again (the client got the refusal, not its
    /// client secret), so it is canceled at Stripe rather than left open and re-read by
    /// every reconciliation pass. Best effort: on failure the hold stays as recorded.
    private func cancelRefusedIntent(_ intentID: String, operation: CreateOperation, gateway: any PaymentGateway, logger: Logger) async {
        do {
            let intent = try await gateway.cancelPaymentIntent(id: intentID, idempotencyKey: "chittycharge-cancel-refused-" + operation.key)
            if let hold = try await store.hold(id: intentID) { _ = try await stripeSync.applyRead(intent, to: hold, logger: logger) }
        } catch {
            logger.warning("could not cancel the intent Stripe refused; it is tracked as a failed hold", metadata: [
                "hold.id": .string(intentID), "error": "\(error)",
            ])
        }
    }
}

extension Hold {
    /// What the ChittyID service is told about a hold.
    var chittyIDMintMetadata: [String: String] {
        var metadata = ["hold_id": id, "amount": String(amount), "currency": currency]
        if let propertyID { metadata["property_id"] = propertyID }
        if let tenantID { metadata["tenant_id"] = tenantID }
        return metadata
    }
}
