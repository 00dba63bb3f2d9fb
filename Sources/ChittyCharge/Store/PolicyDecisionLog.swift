import Foundation

/// A policy decision kept with the revision that made it (and its input, so a candidate
/// policy can be backtested against real traffic later).
public struct PolicyDecisionRecord: Sendable, Equatable {
    public var id: String
    public var hook: String
    public var revision: String
    /// `policy`, `builtin` or `fail_closed`.
    public var source: String
    public var input: Data
    public var decision: Data
    /// The create operation or hold the decision was about.
    public var subject: String?
    public var createdAt: Date

    public init(id: String, hook: String, revision: String, source: String, input: Data, decision: Data,
                subject: String?, createdAt: Date) {
        self.id = id
        self.hook = hook
        self.revision = revision
        self.source = source
        self.input = input
        self.decision = decision
        self.subject = subject
        self.createdAt = createdAt
    }
}

/// Policy decisions with their inputs: a hold's history, and the backtest's traffic.
public protocol PolicyDecisionLog: Sendable {
    func recordDecision(_ record: PolicyDecisionRecord) async throws
    func decisions(subject: String) async throws -> [PolicyDecisionRecord]

    // MARK: Backtest

    /// Recorded policy decisions, oldest first by (`createdAt`, `id`): those made at or
    /// after `since` when it is given, and strictly after `cursor` when it is given; at most
    /// `limit` (below 1 counts as 1). An empty page means there are no more. Pass a page's
    /// last record as the next page's cursor (`PolicyDecisionCursor(after:)`). Reads only.
    func decisions(since: Date?, after cursor: PolicyDecisionCursor?, limit: Int) async throws -> [PolicyDecisionRecord]
}
