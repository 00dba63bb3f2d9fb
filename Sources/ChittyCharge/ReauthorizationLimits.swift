import Foundation
import Logging

/// Bounds on `hold_schedule`'s `reauthorize`: each one puts a new authorization on the
/// guest's card, so a policy that asks too early (say "now", on every evaluation) or
/// forever must be refused, not obeyed.
public struct ReauthorizationLimits: Sendable, Equatable {
    /// A reauthorization may be scheduled no earlier than this before the hold's capture
    /// deadline (48 h: late enough that a hold is replaced at most once per window, early
    /// enough to retry a failure before the deadline).
    public var earliestBeforeDeadline: TimeInterval
    /// At most this many reauthorizations descend from one original hold (8: about two
    /// months of 7-day card windows).
    public var maxPerChain: Int

    public init(earliestBeforeDeadline: TimeInterval = 48 * 3600, maxPerChain: Int = 8) {
        self.earliestBeforeDeadline = earliestBeforeDeadline
        self.maxPerChain = maxPerChain
    }
}

extension HoldService {
    public static let reauthorizationRefusedEventType = "chittycharge.reauthorization_refused"

    /// Why a reauthorization of `hold` at `at` breaks the limits, or nil when it may go.
    func reauthorizationViolation(_ hold: Hold, at: Date) async -> String? {
        let limits = configuration.reauthorization
        let deadline = hold.captureBefore ?? hold.createdAt.addingTimeInterval(PaymentMethodCaptureWindow.estimate(forTypes: []))
        let earliest = deadline.addingTimeInterval(-limits.earliestBeforeDeadline)
        if at < earliest {
            return "reauthorize at \(Self.isoString(at)) is earlier than \(Int(limits.earliestBeforeDeadline / 3600)) h before the capture deadline \(Self.isoString(deadline))"
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
    func refuseReauthorization(_ hold: Hold, reason: String, revision: String, logger: Logger) async {
        countFlagged("reauthorization_refused")
        logger.error("hold_schedule asked for a reauthorization outside the limits; nothing is scheduled", metadata: ["reason": .string(reason)])
        let now = clock.now()
        let record = WebhookEventRecord(
            id: "sched_" + UUID().uuidString.lowercased(), type: Self.reauthorizationRefusedEventType, created: now,
            payload: JSONCoding.encode(["revision": revision, "reason": reason, "code": "reauthorization_refused"]),
            holdID: hold.id, outcome: .failed, receivedAt: now)
        do {
            _ = try await store.recordWebhookEvent(record, update: nil)
        } catch {
            logger.warning("could not record the refused reauthorization", metadata: ["error": "\(error)"])
        }
    }
}
