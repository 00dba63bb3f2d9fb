import Foundation

/// A place in the time-ordered list of recorded policy decisions: just after one of them.
///
/// Decisions are ordered by `createdAt`, then by `id`. Times are kept to the millisecond,
/// so several decisions can share one; the id tells them apart, so a page boundary that
/// falls among them neither repeats nor skips any.
public struct PolicyDecisionCursor: Sendable, Hashable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// The place just after `record`: pass a page's last record to read the next page.
    public init(after record: PolicyDecisionRecord) {
        self.init(createdAt: record.createdAt, id: record.id)
    }
}
