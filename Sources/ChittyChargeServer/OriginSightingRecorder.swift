import ChittyCharge
import Foundation
import Logging
import Synchronization

/// Notes each browser origin once per UTC day (with the `cors` answer it got) for the
/// backtest's CORS preview. The check is an in-memory set, so a request whose origin was
/// seen today costs a lock and a lookup; the first sighting is written off the request
/// path. Origins are whatever a caller puts in a header, so at most `maximumPerDay` new
/// ones are kept a day and none longer than 255 bytes.
final class OriginSightingRecorder: Sendable {
    static let maximumPerDay = 1_000
    static let maximumOriginBytes = 255

    private let store: any OriginSightingLog
    /// The UTC day as a number (days since 1970), so a request does not format a date.
    private let today = Mutex<(day: Int, seen: Set<String>)>((.min, []))

    init(store: any OriginSightingLog) {
        self.store = store
    }

    /// `logger` is the request's: a failure to record is logged with its request id.
    func note(_ origin: String, allowed: Bool, revision: String, at now: Date = Date(), logger: Logger) {
        guard origin.utf8.count <= Self.maximumOriginBytes else { return }
        let dayNumber = Int((now.timeIntervalSince1970 / 86_400).rounded(.down))
        let isNew = today.withLock { state in
            if state.day != dayNumber { state = (dayNumber, []) }
            guard state.seen.count < Self.maximumPerDay else { return false }
            return state.seen.insert(origin).inserted
        }
        guard isNew else { return }
        let day = OriginSighting.day(of: now)
        let sighting = OriginSighting(day: day, origin: origin, firstSeenAt: now, allowed: allowed, revision: revision)
        Task { [store] in
            do {
                try await store.recordOriginSighting(sighting)
            } catch {
                // A preview is worth less than a request: forget it, so the next one tries again.
                _ = self.today.withLock { $0.day == dayNumber ? $0.seen.remove(origin) : nil }
                logger.debug("could not record a browser origin", metadata: ["error": "\(error)"])
            }
        }
    }
}
