import Foundation
import PolicyEngine

extension HoldService {
    /// Event types under which the scheduler's own actions appear in a hold's history.
    public static let scheduledCaptureEventType = "chittycharge.scheduled_capture"
    public static let scheduledReleaseEventType = "chittycharge.scheduled_release"
    public static let scheduledReauthorizationEventType = "chittycharge.scheduled_reauthorization"

    /// Asks `hold_schedule` what to do with a capturable hold, stores the answer (with the
    /// revision that gave it) and returns the action now pending, if any. A failing policy
    /// changes nothing and is logged; a hold left with nothing due before Stripe's deadline
    /// is logged too (and flagged in the API).
    @discardableResult
    public func schedule(_ hold: Hold) async -> ScheduledAction? {
        guard hold.status == .requiresCapture else { return hold.scheduledAction }
        // An action already claimed by the scheduler runs to its end.
        if hold.scheduledAction?.state == .running { return hold.scheduledAction }
        let input = HoldScheduleHook.Input(
            id: hold.id, amount: Int64(hold.amount), currency: hold.currency, status: hold.status.rawValue,
            createdAt: Self.isoString(hold.createdAt), captureBefore: hold.captureBefore.map(Self.isoString),
            propertyID: hold.propertyID, tenantID: hold.tenantID, metadata: hold.metadata.mapValues(PolicyValue.string))
        let evaluation = policies.revision.holdSchedule(input)
        var logger = self.logger
        logger[metadataKey: "hold.id"] = .string(hold.id)
        logger[metadataKey: "policy.revision"] = .string(evaluation.revision)
        await recordScheduleDecision(evaluation, input: input, holdID: hold.id)
        if evaluation.source == .failClosed {
            logger.error("hold_schedule failed; nothing is scheduled for this hold", metadata: [
                "policy.error": .string(evaluation.error.map { "\($0)" } ?? ""),
            ])
            return hold.scheduledAction
        }
        let decision = evaluation.decision
        var next: ScheduledAction?
        switch decision.action {
        case .none:
            next = nil
        case .capture, .release, .reauthorize:
            guard let at = decision.at else { return hold.scheduledAction }
            if let amount = decision.amount, amount > Int64(hold.amount) {
                logger.error("hold_schedule asked to capture more than the hold; nothing is scheduled", metadata: ["amount": "\(amount)"])
                return hold.scheduledAction
            }
            let kind: ScheduledAction.Kind = switch decision.action {
            case .capture: .capture
            case .reauthorize: .reauthorize
            default: .release
            }
            let when = Date(timeIntervalSince1970: TimeInterval(at))
            if kind == .reauthorize, let violation = await reauthorizationViolation(hold, at: when) {
                await refuseReauthorization(hold, reason: violation, revision: evaluation.revision, logger: logger)
                return hold.scheduledAction
            }
            next = ScheduledAction(
                kind: kind, at: when, amount: decision.amount.map { Int($0) }, revision: evaluation.revision)
        }
        if next != hold.scheduledAction {
            do {
                try await store.setScheduledAction(next, holdID: hold.id)
            } catch {
                logger.error("could not store the scheduled action", metadata: ["error": "\(error)"])
                return hold.scheduledAction
            }
            if let next {
                logger.info("scheduled", metadata: ["schedule.action": .string(next.kind.rawValue), "schedule.at": .string(Self.isoString(next.at))])
            }
        }
        var scheduled = hold
        scheduled.scheduledAction = next
        if expiresWithoutAction(scheduled) {
            countFlagged("no_action_before_expiry")
            logger.warning("no action is due before Stripe's deadline; the hold will lapse unless someone acts", metadata: [
                "hold.capture_before": .string(hold.captureBefore.map(Self.isoString) ?? ""),
            ])
        }
        return next
    }

    /// What needs a person's attention about a hold, for the API.
    public func flags(for hold: Hold) -> [String] {
        expiresWithoutAction(hold) ? ["no_action_before_expiry"] : []
    }

    /// True when a capturable hold has nothing due at least `expiryMargin` before Stripe's
    /// deadline: left alone, Stripe will release it.
    public func expiresWithoutAction(_ hold: Hold) -> Bool {
        guard hold.status == .requiresCapture, let deadline = hold.captureBefore else { return false }
        guard let action = hold.scheduledAction else { return true }
        return action.at > deadline.addingTimeInterval(-configuration.expiryMargin)
    }

    /// Runs the scheduled actions that are due, through the same capture and cancel paths
    /// as the API (same idempotency keys and compare-and-set), each at most once: an action
    /// is claimed in the store (owner and lease) before it runs, so another scheduler leaves
    /// it alone while the lease lasts, and takes it over after (a crashed runner), finishing
    /// it by replaying its operation. Returns how many actions finished.
    @discardableResult
    public func runDueScheduledActions(limit: Int = 50) async -> Int {
        let due: [Hold]
        do {
            due = try await store.holdsWithDueActions(at: clock.now(), limit: limit)
        } catch {
            logger.error("could not read due scheduled actions", metadata: ["error": "\(error)"])
            return 0
        }
        var finished = 0
        for hold in due {
            guard let action = hold.scheduledAction else { continue }
            guard schedulesRunning.withLock({ $0.insert(hold.id).inserted }) else { continue }
            defer { _ = schedulesRunning.withLock { $0.remove(hold.id) } }
            let now = clock.now()
            let lease = ScheduledAction.Lease(owner: configuration.schedulerID, until: now.addingTimeInterval(configuration.scheduleLease))
            guard (try? await store.claimScheduledAction(action, holdID: hold.id, lease: lease, at: now)) == true else { continue }
            if await run(action, on: hold) { finished += 1 }
        }
        return finished
    }

    /// Runs one claimed action. True when it is finished (done or failed for good); false
    /// when it must be tried again (Stripe or the store did not answer).
    private func run(_ action: ScheduledAction, on hold: Hold) async -> Bool {
        var logger = self.logger
        logger[metadataKey: "hold.id"] = .string(hold.id)
        logger[metadataKey: "schedule.action"] = .string(action.kind.rawValue)
        let eventType = switch action.kind {
        case .capture: Self.scheduledCaptureEventType
        case .release: Self.scheduledReleaseEventType
        case .reauthorize: Self.scheduledReauthorizationEventType
        }
        var outcome = WebhookOutcome.applied
        var detail: [String: String] = [
            "revision": action.revision, "at": Self.isoString(action.at),
        ]
        if let amount = action.amount { detail["amount"] = String(amount) }
        do {
            switch action.kind {
            case .capture:
                _ = try await perform(.capture, holdID: hold.id, requestedAmount: action.amount, byScheduler: true)
            case .release:
                _ = try await perform(.cancel, holdID: hold.id, requestedAmount: nil, byScheduler: true)
            case .reauthorize:
                detail["replaced_by"] = try await reauthorize(hold, revision: action.revision)
            }
            logger.info("scheduled action done")
        } catch {
            // `stripe_error_not_applied`: Stripe did nothing and the operation is closed, so
            // the next try is a new request (new key), which is safe.
            if error.code == "stripe_unavailable" || error.code == "storage_error" || error.code == "stripe_error_not_applied" {
                logger.warning("scheduled action could not finish; it will be tried again", metadata: ["error": .string(error.message)])
                return false
            }
            outcome = .failed
            detail["error"] = error.message
            detail["code"] = error.code
            if action.kind == .reauthorize { countFlagged("reauthorization_failed") }
            logger.warning("scheduled action did not happen", metadata: ["error": .string(error.message)])
        }
        let now = clock.now()
        let record = WebhookEventRecord(
            id: "sched_" + UUID().uuidString.lowercased(), type: eventType, created: now,
            payload: JSONCoding.encode(detail), holdID: hold.id, outcome: outcome, receivedAt: now)
        do {
            guard try await store.finishScheduledAction(holdID: hold.id, owner: configuration.schedulerID, outcome: record) else {
                logger.warning("another scheduler took this action over (the lease ran out); its outcome is that one's to record")
                return false
            }
        } catch {
            logger.error("could not record the scheduled action's outcome", metadata: ["error": "\(error)"])
            return false
        }
        return true
    }

    /// Places a new hold for the same amount on the guest's saved card (off-session), links
    /// the two, then releases the old one. Returns the new hold's id. The new hold's create
    /// operation is keyed by the old hold, so a retry after a crash resumes it instead of
    /// placing a second one. Without a saved card, or if the card is declined, the old hold
    /// is left as it is (to Stripe's deadline, and flagged as having no action before it).
    func reauthorize(_ hold: Hold, revision: String) async throws(HoldServiceError) -> String {
        guard let gateway else { throw .stripeNotConfigured }
        let original: CreateOperation?
        do {
            original = try await store.createOperation(key: hold.createOperationKey)
        } catch {
            throw .storage(error)
        }
        guard let original, original.params.customer != nil, original.params.paymentMethod != nil else {
            throw HoldServiceError(httpStatus: 409, message: "The hold was not placed on a saved card, so it cannot be reauthorized; it is left to Stripe's deadline",
                                   code: "reauthorization_impossible")
        }
        guard hold.status == .requiresCapture else {
            throw .conflict("Only a capturable hold is reauthorized (this one is \(hold.status.rawValue))", code: "reauthorization_not_needed")
        }
        if let violation = await reauthorizationViolation(hold, at: clock.now()) {
            // An action stored before these limits, or a clock that jumped: refuse it here too.
            countFlagged("reauthorization_refused")
            throw .conflict("The reauthorization is outside the limits: \(violation)", code: "reauthorization_refused")
        }
        var params = original.params
        params.confirm = true
        let now = clock.now()
        // Placed for the old hold's owner, so the new hold belongs to the same client.
        let operation = CreateOperation(
            key: "chittycharge-create-" + UUID().uuidString.lowercased(), client: hold.owner,
            clientIdempotencyKey: "chittycharge-reauthorize:" + hold.id, requestHash: "reauthorize:" + hold.id, params: params,
            tier: hold.tier, tierLimit: hold.tierLimit, policyRevision: revision, propertyID: hold.propertyID,
            tenantID: hold.tenantID, createdAt: now, updatedAt: now)
        let replacement: Hold
        do {
            switch try await store.claimCreate(operation) {
            case .started(let started):
                replacement = try await executeCreate(started, gateway: gateway).get()
            case .existing(let earlier) where earlier.state == .pending:
                replacement = try await executeCreate(earlier, gateway: gateway).get()
            case .existing(let earlier) where earlier.state == .succeeded:
                guard let id = earlier.holdID, let found = try await store.hold(id: id) else { throw HoldServiceError.storage(HoldStoreError.notFound(earlier.key)) }
                replacement = found
            case .existing(let earlier):
                throw HoldServiceError(stored: earlier.failure ?? HoldServiceError.conflict("The reauthorization failed", code: "reauthorization_failed").stored)
            }
        } catch let error as HoldServiceError {
            throw error
        } catch {
            throw .storage(error)
        }
        guard replacement.status == .requiresCapture else {
            throw .conflict("The new hold is \(replacement.status.rawValue), not in place; the old hold is kept", code: "reauthorization_incomplete",
                            details: ["new_hold": .string(replacement.id)])
        }
        do {
            try await store.linkReplacement(oldHoldID: hold.id, newHoldID: replacement.id)
        } catch {
            throw .storage(error)
        }
        _ = try await perform(.cancel, holdID: hold.id, requestedAmount: nil, byScheduler: true)
        logger.notice("hold reauthorized", metadata: ["hold.id": .string(hold.id), "hold.replaced_by": .string(replacement.id)])
        return replacement.id
    }

    /// After a policy reload, asks the new revision again about every pending action the
    /// old one decided. Returns how many holds were asked.
    @discardableResult
    public func reevaluateSchedules(limit: Int = 100) async -> Int {
        let revision = policies.revision.id
        let holds: [Hold]
        do {
            holds = try await store.holdsWithPendingActions(notFrom: revision, limit: limit)
        } catch {
            logger.error("could not read pending scheduled actions", metadata: ["error": "\(error)"])
            return 0
        }
        var asked = 0
        let firstAsk: (String) -> Bool = { id in
            self.schedulesReevaluated.withLock { asked in
                if asked.revision != revision { asked = (revision, []) }
                return asked.holds.insert(id).inserted
            }
        }
        for hold in holds where firstAsk(hold.id) {
            await schedule(hold)
            asked += 1
        }
        return asked
    }

    private func recordScheduleDecision(_ evaluation: PolicyEvaluation<HoldScheduleHook.Decision>, input: HoldScheduleHook.Input, holdID: String) async {
        var inputValue: [String: PolicyValue] = [
            "id": .string(input.id), "amount": .integer(input.amount), "currency": .string(input.currency),
            "status": .string(input.status), "created_at": .string(input.createdAt), "metadata": .object(input.metadata),
        ]
        if let captureBefore = input.captureBefore { inputValue["capture_before"] = .string(captureBefore) }
        if let propertyID = input.propertyID { inputValue["property_id"] = .string(propertyID) }
        if let tenantID = input.tenantID { inputValue["tenant_id"] = .string(tenantID) }
        let record = PolicyDecisionRecord(
            id: UUID().uuidString.lowercased(), hook: PolicyHook.holdSchedule.name, revision: evaluation.revision,
            source: evaluation.source.rawValue, input: JSONCoding.encode(PolicyValue.object(inputValue)),
            decision: JSONCoding.encode(HoldScheduleHook.policyValue(of: evaluation.decision)), subject: holdID,
            createdAt: clock.now())
        do {
            try await store.recordDecision(record)
        } catch {
            logger.warning("could not record the hold_schedule decision", metadata: ["hold.id": .string(holdID), "error": "\(error)"])
        }
    }

    static func isoString(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
