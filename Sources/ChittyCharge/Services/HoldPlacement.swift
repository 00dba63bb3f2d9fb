import Foundation
import JSON
import Logging
import PolicyEngine

/// Places holds: asks `hold_limit`, records the create operation (with the decision and
/// the client's `Idempotency-Key`) before Stripe is called, and answers a retry with the
/// first result.
public struct HoldPlacement: Sendable {
    public typealias Store = CreateOperationRecords & HoldRecords & PolicyDecisionLog

    /// The outcome of `placeHold`: the hold, and whether this answers an earlier request
    /// with the same `Idempotency-Key`.
    public struct Placement: Sendable {
        public var hold: Hold
        public var replayed: Bool
    }

    let store: any Store
    let gateway: (any PaymentGateway)?
    let creator: HoldCreator
    let policies: PolicyEngine
    let clock: any WallClock
    let paymentMethodTypes: [String]
    let metrics: HoldMetrics
    let otherInstances: OtherInstanceWait

    public init(store: any Store, gateway: (any PaymentGateway)?, creator: HoldCreator, policies: PolicyEngine,
                clock: any WallClock, configuration: HoldServiceConfiguration, metrics: HoldMetrics) {
        self.store = store
        self.gateway = gateway
        self.creator = creator
        self.policies = policies
        self.clock = clock
        self.paymentMethodTypes = configuration.paymentMethodTypes
        self.metrics = metrics
        self.otherInstances = OtherInstanceWait(
            storeIsShared: configuration.storeIsShared, wait: configuration.otherInstanceWait, takeoverAge: configuration.recoveryGrace)
    }

    /// Places a hold (or answers a retry with the first result), counted by outcome.
    /// `logger` is the caller's (a request's, with `request.id` and `client`): lines about
    /// this hold are written through it.
    public func placeHold(_ request: HoldRequest, client: String, idempotencyKey: String?, logger: Logger) async throws(HoldServiceError) -> Placement {
        do {
            let placement = try await place(request, client: client, idempotencyKey: idempotencyKey, logger: logger)
            metrics.countPlacement(placement.replayed ? "replayed" : "placed")
            return placement
        } catch {
            metrics.countPlacement(HoldMetrics.outcome(of: error))
            throw error
        }
    }

    private func place(_ request: HoldRequest, client: String, idempotencyKey: String?, logger requestLogger: Logger) async throws(HoldServiceError) -> Placement {
        guard let gateway else { throw .stripeNotConfigured }
        let now = clock.now()
        let evaluation = policies.revision.holdLimit(request.policyInput(client: client))
        let decision = evaluation.decision
        var params = try request.paymentIntentParams()
        params.paymentMethodTypes = paymentMethodTypes
        var operation = CreateOperation(
            key: "chittycharge-create-" + UUID().uuidString.lowercased(), client: client,
            clientIdempotencyKey: idempotencyKey, requestHash: request.fingerprint, params: params,
            tier: decision.tier, tierLimit: Int(decision.maxAmount), policyRevision: evaluation.revision,
            propertyID: request.propertyID, tenantID: request.tenantID, createdAt: now, updatedAt: now,
            clientMetadata: request.metadata)

        var logger = requestLogger
        logger[metadataKey: "policy.revision"] = .string(evaluation.revision)
        let decisionRecord = record(evaluation, input: request.policyInputValue(client: client), subject: operation.key)
        if evaluation.source == .failClosed {
            // A broken policy refuses, but transiently: not stored for replay.
            logger.error("hold_limit failed; refusing the hold", metadata: ["policy.error": .string(evaluation.error.map { "\($0)" } ?? "")])
            do {
                try await store.recordDecision(decisionRecord)
            } catch {
                logger.error("could not record the hold_limit decision", metadata: ["error": "\(error)"])
            }
            throw HoldServiceError(.policyError, "The hold policy failed to decide; the hold was not placed",
                                   details: ["policy_revision": .string(evaluation.revision)])
        }
        var refusal: HoldServiceError?
        if !decision.allow || Int64(request.amount) > decision.maxAmount {
            var details = decision.details ?? [:]
            details["current_tier"] = details["current_tier"] ?? .string(decision.tier)
            details["max_amount"] = details["max_amount"] ?? .integer(decision.maxAmount)
            details["amount"] = .integer(Int64(request.amount))
            details["policy_revision"] = .string(evaluation.revision)
            let reason = decision.reason ?? (decision.allow
                ? "Amount exceeds limit for \(decision.tier) tier"
                : "The hold policy refused this hold")
            refusal = HoldServiceError(.holdLimitExceeded, reason, details: details)
            operation.state = .failed
            operation.failure = refusal
        }

        let claim: OperationClaim<CreateOperation>
        do {
            claim = try await store.claimCreate(operation, decision: decisionRecord)
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
            let hold = try await creator.execute(started, gateway: gateway, logger: requestLogger).get()
            return Placement(hold: hold, replayed: false)
        case .existing(let earlier):
            guard earlier.requestHash == operation.requestHash else {
                throw .conflict("This Idempotency-Key was already used with a different request body", kind: .idempotencyKeyReused)
            }
            switch earlier.state {
            case .succeeded:
                let hold: Hold?
                do {
                    hold = if let id = earlier.holdID { try await store.hold(id: id) } else { nil }
                } catch {
                    throw .storage(error)
                }
                guard let hold else { throw .storage(HoldStoreError.notFound(earlier.key)) }
                return Placement(hold: hold, replayed: true)
            case .failed:
                throw earlier.failure ?? .conflict("The earlier attempt failed", kind: .earlierAttemptFailed)
            case .pending:
                guard creator.isRunning(earlier.key) || otherInstances.replaysHere(updatedAt: earlier.updatedAt, now: now) else {
                    return try await awaitOtherInstance(earlier)
                }
                // The first attempt did not finish (Stripe unreachable, or a crash): finish
                // it with the same Stripe idempotency key, which cannot create a second hold.
                let hold = try await creator.execute(earlier, gateway: gateway, logger: requestLogger).get()
                return Placement(hold: hold, replayed: true)
            }
        }
    }

    /// The answer of a create another instance is running, once it settles.
    private func awaitOtherInstance(_ earlier: CreateOperation) async throws(HoldServiceError) -> Placement {
        let settled = try await otherInstances.awaitSettled { () async throws(HoldServiceError) -> (CreateOperation, Hold?)? in
            do {
                guard let operation = try await store.createOperation(key: earlier.key), operation.state != .pending else { return nil }
                let hold = if operation.state == .succeeded, let id = operation.holdID { try await store.hold(id: id) } else { Hold?.none }
                return (operation, hold)
            } catch {
                throw .storage(error)
            }
        }
        guard let (operation, hold) = settled else { throw .inProgress("hold placement", key: earlier.key) }
        if let hold { return Placement(hold: hold, replayed: true) }
        throw operation.failure ?? .conflict("The earlier attempt failed", kind: .earlierAttemptFailed)
    }

    private func record(_ evaluation: PolicyEvaluation<HoldLimitHook.Decision>, input: JSONValue, subject: String) -> PolicyDecisionRecord {
        PolicyDecisionRecord(
            id: UUID().uuidString.lowercased(), hook: PolicyHook.holdLimit.name, revision: evaluation.revision,
            source: evaluation.source.rawValue, input: JSONCoding.encode(input),
            decision: JSONCoding.encode(HoldLimitHook.policyValue(of: evaluation.decision)), subject: subject,
            createdAt: clock.now())
    }
}
