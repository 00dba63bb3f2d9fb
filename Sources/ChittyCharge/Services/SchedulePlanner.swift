import Foundation
import JSON
import Logging
import PolicyEngine
import Synchronization

/// Decides what is to happen to a capturable hold and when: asks `hold_schedule`, checks
/// the answer against the hold and the reauthorization limits, and queues it (one pending
/// action per hold). It never calls Stripe; `ScheduleRunner` runs what is due.
public final class SchedulePlanner: Sendable {
    public typealias Store = ScheduledActionQueue & HoldRecords & PolicyDecisionLog & WebhookEventLog & BookingEventLog

    let store: any Store
    let policies: PolicyEngine
    let clock: any WallClock
    let expiryMargin: TimeInterval
    let limits: ReauthorizationLimits
    let metrics: HoldMetrics
    let logger: Logger
    /// Holds already re-asked under the active revision after a reload: a revision whose
    /// hook fails keeps the old action, and must not be asked again every tick.
    private let reevaluated = Mutex<(revision: String, holds: Set<String>)>(("", []))

    public init(store: any Store, policies: PolicyEngine, clock: any WallClock, configuration: HoldServiceConfiguration,
                metrics: HoldMetrics, logger: Logger) {
        self.store = store
        self.policies = policies
        self.clock = clock
        self.expiryMargin = configuration.expiryMargin
        self.limits = configuration.reauthorization
        self.metrics = metrics
        self.logger = logger
    }

    /// Asks `hold_schedule` what to do with a capturable hold, stores the answer (with the
    /// revision that gave it) and returns the action now pending, if any. A failing policy
    /// changes nothing and is logged; a hold left with nothing due before Stripe's deadline
    /// is logged too (and flagged in the API).
    @discardableResult
    public func schedule(_ hold: Hold, logger baseLogger: Logger? = nil) async -> ScheduledAction? {
        guard hold.status == .requiresCapture else { return hold.scheduledAction }
        // An action already claimed by the scheduler runs to its end.
        if hold.scheduledAction?.state == .running { return hold.scheduledAction }
        var logger = baseLogger ?? self.logger
        logger[metadataKey: "hold.id"] = .string(hold.id)
        let booking: BookingState
        do {
            booking = BookingState(events: try await store.bookingEvents(holdID: hold.id))
        } catch {
            // Deciding without the stay's events could capture a fee from a guest who came.
            logger.error("could not read the hold's booking events; nothing is decided now", metadata: ["error": "\(error)"])
            return hold.scheduledAction
        }
        let input = HoldScheduleHook.Input(
            id: hold.id, amount: Int64(hold.amount), currency: hold.currency, status: hold.status.rawValue,
            createdAt: isoString(hold.createdAt), captureBefore: hold.captureBefore.map(isoString),
            propertyID: hold.propertyID, tenantID: hold.tenantID, metadata: hold.policyMetadata,
            booking: booking.jsonValue.objectValue ?? HoldScheduleHook.Input.noBookingEvents)
        let evaluation = policies.revision.holdSchedule(input)
        logger[metadataKey: "policy.revision"] = .string(evaluation.revision)
        await recordDecision(evaluation, input: input, holdID: hold.id, logger: logger)
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
            next = ScheduledAction(kind: kind, at: when, amount: decision.amount.map { Int($0) }, revision: evaluation.revision)
        }
        if next != hold.scheduledAction {
            do {
                try await store.setScheduledAction(next, holdID: hold.id)
            } catch {
                logger.error("could not store the scheduled action", metadata: ["error": "\(error)"])
                return hold.scheduledAction
            }
            if let next {
                logger.info("scheduled", metadata: ["schedule.action": .string(next.kind.rawValue), "schedule.at": .string(isoString(next.at))])
            }
        }
        var scheduled = hold
        scheduled.scheduledAction = next
        if expiresWithoutAction(scheduled) {
            metrics.countFlagged("no_action_before_expiry")
            logger.warning("no action is due before Stripe's deadline; the hold will lapse unless someone acts", metadata: [
                "hold.capture_before": .string(hold.captureBefore.map(isoString) ?? ""),
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
        return action.at > deadline.addingTimeInterval(-expiryMargin)
    }

    /// After a policy reload, asks the new revision again about every pending action the
    /// old one decided. Returns how many holds were asked.
    @discardableResult
    public func reevaluate(limit: Int = 100) async -> Int {
        let revision = policies.revision.id
        let holds: [Hold]
        do {
            holds = try await store.holdsWithPendingActions(notFrom: revision, limit: limit)
        } catch {
            logger.error("could not read pending scheduled actions", metadata: ["error": "\(error)"])
            return 0
        }
        var asked = 0
        for hold in holds where firstAsk(hold.id, revision: revision) {
            await schedule(hold)
            asked += 1
        }
        return asked
    }

    private func firstAsk(_ holdID: String, revision: String) -> Bool {
        reevaluated.withLock { asked in
            if asked.revision != revision { asked = (revision, []) }
            return asked.holds.insert(holdID).inserted
        }
    }

    /// Why a reauthorization of `hold` at `at` breaks the limits, or nil when it may go.
    func reauthorizationViolation(_ hold: Hold, at: Date) async -> String? {
        let deadline = hold.captureBefore ?? hold.createdAt.addingTimeInterval(PaymentMethodCaptureWindow.estimate(forTypes: []))
        let earliest = deadline.addingTimeInterval(-limits.earliestBeforeDeadline)
        if at < earliest {
            return "reauthorize at \(isoString(at)) is earlier than \(Int(limits.earliestBeforeDeadline / 3600)) h before the capture deadline \(isoString(deadline))"
        }
        // Count the holds this one replaced, up to the cap (a missing link ends the chain).
        var ancestors = 0
        var link = hold.replaces
        while let id = link, ancestors < limits.maxPerChain {
            ancestors += 1
            link = (try? await store.hold(id: id))?.replaces
        }
        if ancestors >= limits.maxPerChain {
            return "the hold was already reauthorized \(ancestors) times, the most allowed for one original hold"
        }
        return nil
    }

    /// A refused reauthorization is a policy error: nothing is scheduled, the hold is
    /// flagged (counted, and in its history with the reason).
    private func refuseReauthorization(_ hold: Hold, reason: String, revision: String, logger: Logger) async {
        metrics.countFlagged("reauthorization_refused")
        logger.error("hold_schedule asked for a reauthorization outside the limits; nothing is scheduled", metadata: ["reason": .string(reason)])
        let now = clock.now()
        let record = WebhookEventRecord(
            id: "sched_" + UUID().uuidString.lowercased(), type: HoldHistoryEntryType.reauthorizationRefused, created: now,
            payload: JSONCoding.encode(["revision": revision, "reason": reason, "code": "reauthorization_refused"]),
            holdID: hold.id, outcome: .failed, receivedAt: now)
        do {
            _ = try await store.recordWebhookEvent(record, update: nil)
        } catch {
            logger.warning("could not record the refused reauthorization", metadata: ["error": "\(error)"])
        }
    }

    private func recordDecision(_ evaluation: PolicyEvaluation<HoldScheduleHook.Decision>, input: HoldScheduleHook.Input,
                                holdID: String, logger: Logger) async {
        var inputValue: [String: JSONValue] = [
            "id": .string(input.id), "amount": .integer(input.amount), "currency": .string(input.currency),
            "status": .string(input.status), "created_at": .string(input.createdAt), "metadata": .object(input.metadata),
            "booking": .object(input.booking),
        ]
        if let captureBefore = input.captureBefore { inputValue["capture_before"] = .string(captureBefore) }
        if let propertyID = input.propertyID { inputValue["property_id"] = .string(propertyID) }
        if let tenantID = input.tenantID { inputValue["tenant_id"] = .string(tenantID) }
        let record = PolicyDecisionRecord(
            id: UUID().uuidString.lowercased(), hook: PolicyHook.holdSchedule.name, revision: evaluation.revision,
            source: evaluation.source.rawValue, input: JSONCoding.encode(JSONValue.object(inputValue)),
            decision: JSONCoding.encode(HoldScheduleHook.policyValue(of: evaluation.decision)), subject: holdID,
            createdAt: clock.now())
        do {
            try await store.recordDecision(record)
        } catch {
            logger.warning("could not record the hold_schedule decision", metadata: ["error": "\(error)"])
        }
    }
}

/// ISO 8601 with the time zone, as policies and history entries see times.
func isoString(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle())
}
