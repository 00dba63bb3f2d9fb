import Foundation
import Logging

extension ScheduleRunner {
    /// Places a new hold for the same amount on the guest's saved card (off-session), links
    /// the two, then releases the old one. Returns the new hold's id. The new hold's create
    /// operation is keyed by the old hold, so a retry after a crash resumes it instead of
    /// placing a second one. Without a saved card, or if the card is declined, the old hold
    /// is left as it is (to Stripe's deadline, and flagged as having no action before it).
    func reauthorize(_ hold: Hold, revision: String, logger: Logger) async throws(HoldServiceError) -> String {
        guard let gateway else { throw .stripeNotConfigured }
        let original: CreateOperation?
        do {
            original = try await store.createOperation(key: hold.createOperationKey)
        } catch {
            throw .storage(error)
        }
        guard let original, original.params.customer != nil, original.params.paymentMethod != nil else {
            throw HoldServiceError(.reauthorizationImpossible, "The hold was not placed on a saved card, so it cannot be reauthorized; it is left to Stripe's deadline")
        }
        guard hold.status == .requiresCapture else {
            throw .conflict("Only a capturable hold is reauthorized (this one is \(hold.status.rawValue))", kind: .reauthorizationNotNeeded)
        }
        if let violation = await planner.reauthorizationViolation(hold, at: clock.now()) {
            // An action stored before these limits, or a clock that jumped: refuse it here too.
            metrics.countFlagged("reauthorization_refused")
            throw .conflict("The reauthorization is outside the limits: \(violation)", kind: .reauthorizationRefused)
        }
        var params = original.params
        params.confirm = true
        let now = clock.now()
        // Placed for the old hold's owner, so the new hold belongs to the same client.
        let operation = CreateOperation(
            key: "chittycharge-create-" + UUID().uuidString.lowercased(), client: hold.owner,
            clientIdempotencyKey: "chittycharge-reauthorize:" + hold.id, requestHash: "reauthorize:" + hold.id, params: params,
            tier: hold.tier, tierLimit: hold.tierLimit, policyRevision: revision, propertyID: hold.propertyID,
            tenantID: hold.tenantID, createdAt: now, updatedAt: now, clientMetadata: hold.clientMetadata)
        let replacement: Hold
        do {
            switch try await store.claimCreate(operation) {
            case .started(let started):
                replacement = try await creator.execute(started, gateway: gateway, logger: logger).get()
            case .existing(let earlier) where earlier.state == .pending:
                replacement = try await creator.execute(earlier, gateway: gateway, logger: logger).get()
            case .existing(let earlier) where earlier.state == .succeeded:
                guard let id = earlier.holdID, let found = try await store.hold(id: id) else { throw HoldServiceError.storage(HoldStoreError.notFound(earlier.key)) }
                replacement = found
            case .existing(let earlier):
                throw earlier.failure ?? .conflict("The reauthorization failed", kind: .reauthorizationFailed)
            }
        } catch let error as HoldServiceError {
            throw error
        } catch {
            throw .storage(error)
        }
        guard replacement.status == .requiresCapture else {
            throw .conflict("The new hold is \(replacement.status.rawValue), not in place; the old hold is kept", kind: .reauthorizationIncomplete,
                            details: ["new_hold": .string(replacement.id)])
        }
        do {
            try await store.linkReplacement(oldHoldID: hold.id, newHoldID: replacement.id)
        } catch {
            throw .storage(error)
        }
        _ = try await operations.perform(.cancel, holdID: hold.id, requestedAmount: nil, byScheduler: true, access: .everyHold, logger: logger)
        logger.notice("hold reauthorized", metadata: ["hold.replaced_by": .string(replacement.id)])
        return replacement.id
    }
}
