import Foundation

/// Counts of work waiting, for `/metrics`.
public protocol OperationalGaugeSource: Sendable {
    /// What `/metrics` reports about work waiting, read at once when it is scraped: actions
    /// due at `now` (pending or left running), those due at or before `now - overdueAfter`,
    /// capturable holds with nothing due at least `expiryMargin` before `capture_before`
    /// (`SchedulePlanner.expiresWithoutAction`), and the ChittyID outbox's jobs. Reads only.
    func operationalGauges(at now: Date, overdueAfter: TimeInterval, expiryMargin: TimeInterval) async throws -> OperationalGauges
}
