import Foundation

/// The browser origins that called the API, one record per origin and UTC day, so a
/// backtest can preview what a changed `cors` rule would do to real callers.
public protocol OriginSightingLog: Sendable {
    /// Records the origin for its day unless it is recorded already (the first sighting of
    /// the day keeps its decision). Cheap to repeat.
    func recordOriginSighting(_ sighting: OriginSighting) async throws
    /// Every origin seen on `since`'s day or later, with its latest day, newest day first,
    /// then by origin; at most `limit`.
    func originSightings(since: Date?, limit: Int) async throws -> [OriginSighting]
}

public struct OriginSighting: Sendable, Equatable {
    /// `YYYY-MM-DD`, UTC.
    public var day: String
    public var origin: String
    public var firstSeenAt: Date
    /// What the `cors` hook answered the first time that day, and the revision that did.
    public var allowed: Bool
    public var revision: String

    public init(day: String, origin: String, firstSeenAt: Date, allowed: Bool, revision: String) {
        self.day = day
        self.origin = origin
        self.firstSeenAt = firstSeenAt
        self.allowed = allowed
        self.revision = revision
    }

    /// The UTC day of a time, as `day` spells it.
    public static func day(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
