import Foundation
import JSON
import Logging
import Synchronization

/// Runs the scheduled actions that are due, through the same capture and cancel paths as
/// the API (`HoldOperations`: same idempotency keys and compare-and-set), each at most
/// once: an action is claimed in the store (owner and lease) before it runs, so another
/// scheduler leaves it alone while the lease lasts, and takes it over after (a crashed
/// runner), finishing it by replaying its operation.
public final class ScheduleRunner: Sendable {
    public typealias Store = ScheduledActionQueue & CreateOperationRecords & HoldRecords

    let store: any Store
    let gateway: (any PaymentGateway)?
    let operations: HoldOperations
    let creator: HoldCreator
    let planner: SchedulePlanner
    let clock: any WallClock
    let schedulerID: String
    let lease: TimeInterval
    let metrics: HoldMetrics
    let logger: Logger
    /// Holds whose action this runner is running now. The store's lease keeps other
    /// schedulers off a running action; this keeps two passes of this one apart, since a
    /// scheduler may claim again an action it holds (to retry it).
    private let running = Mutex<Set<String>>([])

    public init(store: any Store, gateway: (any PaymentGateway)?, operations: HoldOperations, creator: HoldCreator,
                planner: SchedulePlanner, clock: any WallClock, configuration: HoldServiceConfiguration,
                metrics: HoldMetrics, logger: Logger) {
        self.store = store
        self.gateway = gateway
        self.operations = operations
        self.creator = creator
        self.planner = planner
        self.clock = clock
        self.schedulerID = configuration.schedulerID
        self.lease = configuration.scheduleLease
        self.metrics = metrics
        self.logger = logger
    }

    /// Claims and runs the due actions. Returns how many finished.
    @discardableResult
    public func runDue(limit: Int = 50) async -> Int {
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
            guard running.withLock({ $0.insert(hold.id).inserted }) else { continue }
            defer { _ = running.withLock { $0.remove(hold.id) } }
            let now = clock.now()
            let claim = ScheduledAction.Lease(owner: schedulerID, until: now.addingTimeInterval(lease))
            guard (try? await store.claimScheduledAction(action, holdID: hold.id, lease: claim, at: now)) == true else { continue }
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
        case .capture: HoldHistoryEntryType.scheduledCapture
        case .release: HoldHistoryEntryType.scheduledRelease
        case .reauthorize: HoldHistoryEntryType.scheduledReauthorization
        }
        var outcome = WebhookOutcome.applied
        var detail: [String: String] = ["revision": action.revision, "at": isoString(action.at)]
        if let amount = action.amount { detail["amount"] = String(amount) }
        do {
            switch action.kind {
            case .capture:
                _ = try await operations.perform(.capture, holdID: hold.id, requestedAmount: action.amount, byScheduler: true, access: .everyHold, logger: logger)
            case .release:
                _ = try await operations.perform(.cancel, holdID: hold.id, requestedAmount: nil, byScheduler: true, access: .everyHold, logger: logger)
            case .reauthorize:
                detail["replaced_by"] = try await reauthorize(hold, revision: action.revision, logger: logger)
            }
            logger.info("scheduled action done")
        } catch {
            // `stripe_error_not_applied`: Stripe did nothing and the operation is closed, so
            // the next try is a new request (new key), which is safe.
            if error.leavesOperationPending || error.kind == .stripeErrorNotApplied {
                logger.warning("scheduled action could not finish; it will be tried again", metadata: ["error": .string(error.message)])
                return false
            }
            outcome = .failed
            detail["error"] = error.message
            detail["code"] = error.code
            if action.kind == .reauthorize { metrics.countFlagged("reauthorization_failed") }
            logger.warning("scheduled action did not happen", metadata: ["error": .string(error.message)])
        }
        let now = clock.now()
        let record = WebhookEventRecord(
            id: "sched_" + UUID().uuidString.lowercased(), type: eventType, created: now,
            payload: JSONCoding.encode(detail), holdID: hold.id, outcome: outcome, receivedAt: now)
        do {
            guard try await store.finishScheduledAction(holdID: hold.id, owner: schedulerID, outcome: record) else {
                logger.warning("another scheduler took this action over (the lease ran out); its outcome is that one's to record")
                return false
            }
        } catch {
            logger.error("could not record the scheduled action's outcome", metadata: ["error": "\(error)"])
            return false
        }
        return true
    }
}
