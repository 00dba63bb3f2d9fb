import Foundation
import JSON
import Logging
import Metrics
import PolicyEngine

/// Replays recorded policy decisions through a candidate revision and reports which would
/// have come out differently: what an operator looks at before activating a policy folder.
///
/// Decisions are read from the store page by page in time order (the next page is read
/// while the current one is evaluated) and evaluated in parallel on the candidate's pool of
/// Lua states. The store is only read.
///
/// How a decision is classified:
/// - `hold_limit`: a hold is refused when `allow` is false or its amount is above
///   `max_amount`. Allowed then refused is `newly_refused`, the reverse `newly_allowed`;
///   allowed by both with another tier or `max_amount` is `different_limit`.
/// - `hold_schedule`: another `action`, `at` or `amount` is `different_schedule`.
/// - Either hook: the candidate failing (error, budget, wrong shape) is `candidate_error`;
///   a stored input or decision that is not a JSON object of the expected shape is
///   `unreadable`.
/// - A stored decision made fail-closed (the policy of the day failed) is compared as what
///   it decided — a refused hold, nothing scheduled — and also counted as
///   `stored_fail_closed`, and its examples say so, so a candidate that now decides them
///   shows up as a change rather than vanishing.
public struct PolicyBacktest: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case newlyRefused = "newly_refused"
        case newlyAllowed = "newly_allowed"
        case differentLimit = "different_limit"
        case differentSchedule = "different_schedule"
        case candidateError = "candidate_error"
        case unreadable
        case unchanged

        /// The kinds a hook's decisions fall into, in the order reports list them.
        public static func kinds(for hook: PolicyHook) -> [Kind] {
            switch hook {
            case .holdLimit: [.newlyRefused, .newlyAllowed, .differentLimit, .candidateError, .unreadable, .unchanged]
            default: [.differentSchedule, .candidateError, .unreadable, .unchanged]
            }
        }

        /// True for a decision the candidate would make differently.
        public var isChange: Bool {
            switch self {
            case .newlyRefused, .newlyAllowed, .differentLimit, .differentSchedule: true
            case .candidateError, .unreadable, .unchanged: false
            }
        }
    }

    /// One replayed decision, kept as an example of its kind.
    public struct Example: Sendable, Equatable {
        public var decisionID: String
        public var subject: String?
        public var createdAt: Date
        public var storedRevision: String
        /// `policy`, `builtin` or `fail_closed`.
        public var storedSource: String
        /// Nil when unreadable.
        public var input: JSONValue?
        public var stored: JSONValue?
        /// Nil when the candidate failed or the record was unreadable.
        public var candidate: JSONValue?
        /// The candidate's error, or why the record could not be read.
        public var error: String?
        /// The hold the decision is about (a `hold_limit` decision names its create
        /// operation; this is the hold it made), when there is one.
        public var holdID: String?
        /// For a refused `hold_limit` request (no hold): the client and its Idempotency-Key.
        public var request: String?
    }

    /// The outcome for one hook.
    public struct HookSummary: Sendable, Equatable {
        public var replayed = 0
        /// Stored decisions that were made fail-closed.
        public var storedFailClosed = 0
        public var counts: [Kind: Int] = [:]
        /// The first examples of each kind except `unchanged`, oldest first.
        public var examples: [Kind: [Example]] = [:]
        /// Money and counts, in all and per property (`(none)` without one) and per tier.
        public var impact = Impact()
        public var byProperty: [String: Impact] = [:]
        public var byTier: [String: Impact] = [:]

        public init() {}

        public func count(_ kind: Kind) -> Int { counts[kind] ?? 0 }

        mutating func record(_ replay: Replay, of record: PolicyDecisionRecord, examplesPerKind: Int) {
            replayed += 1
            counts[replay.kind, default: 0] += 1
            impact.add(replay)
            byProperty[replay.property ?? "(none)", default: Impact()].add(replay)
            if let tier = replay.tier { byTier[tier, default: Impact()].add(replay) }
            if record.source == PolicyDecisionSource.failClosed.rawValue { storedFailClosed += 1 }
            if replay.kind != .unchanged, examples[replay.kind, default: []].count < examplesPerKind {
                examples[replay.kind, default: []].append(Example(
                    decisionID: record.id, subject: record.subject, createdAt: record.createdAt, storedRevision: record.revision,
                    storedSource: record.source, input: replay.input, stored: replay.stored, candidate: replay.candidate, error: replay.error))
            }
        }

        /// Decisions the candidate would make differently.
        public var changed: Int { counts.filter { $0.key.isChange }.values.reduce(0, +) }
    }

    public struct Summary: Sendable {
        public var candidateRevision: String
        public var since: Date?
        /// Decisions of the hooks a backtest replays (`hold_limit`, `hold_schedule`).
        public var replayed = 0
        /// Decisions of other hooks, read and left aside.
        public var skipped = 0
        public var hooks: [PolicyHook: HookSummary] = [.holdLimit: HookSummary(), .holdSchedule: HookSummary()]
        /// How many replayed decisions each stored revision made.
        public var storedRevisions: [String: Int] = [:]
        public var firstDecisionAt: Date?
        public var lastDecisionAt: Date?
        public var elapsed: Duration = .zero
        /// Nil when no origins were read (no store given).
        public var cors: CORSPreview?

        public var elapsedSeconds: Double {
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }

        public var decisionsPerSecond: Double {
            elapsedSeconds > 0 ? Double(replayed) / elapsedSeconds : 0
        }
    }

    /// The hooks whose decisions are recorded with their inputs, in report order.
    public static let replayedHooks: [PolicyHook] = [.holdLimit, .holdSchedule]

    public let store: any PolicyDecisionLog
    /// Where examples' create operations are looked up to name their holds; nil leaves the
    /// operation keys as they are.
    public let operations: (any CreateOperationRecords)?
    /// The browser origins seen, for the CORS preview; nil skips it.
    public let origins: (any OriginSightingLog)?
    /// `ALLOWED_ORIGINS` when the server sets it; nil hands the candidate its own settings' list.
    public var allowedOriginsOverride: [String]?
    public let candidate: PolicyRevision
    public var since: Date?
    public var examplesPerKind: Int
    public var pageSize: Int
    /// How many evaluations run at once. The server passes fewer than the cores, so a
    /// backtest leaves room for the API.
    public var concurrency: Int

    public init(store: any PolicyDecisionLog, operations: (any CreateOperationRecords)? = nil,
                origins: (any OriginSightingLog)? = nil, allowedOriginsOverride: [String]? = nil, candidate: PolicyRevision,
                since: Date? = nil, examplesPerKind: Int = 5,
                pageSize: Int = 1000, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.store = store
        self.operations = operations
        self.origins = origins
        self.allowedOriginsOverride = allowedOriginsOverride
        self.candidate = candidate
        self.since = since
        self.examplesPerKind = max(0, examplesPerKind)
        self.pageSize = max(1, pageSize)
        self.concurrency = max(1, concurrency)
    }

    /// Builds a candidate revision that neither logs each of its failures (a backtest
    /// reports them) nor counts its evaluations in the server's policy metrics: a
    /// `PolicyRevision` made directly counts into the process's metrics system, so it is
    /// built through an engine of its own with a no-op factory. Throws with `file:line`.
    public static func loadCandidate(_ sources: PolicySourceSet, limits: PolicyLimits) throws(PolicyLoadError) -> PolicyRevision {
        let quiet = Logger(label: "chittycharge.policy.backtest") { _ in SwiftLogNoOpLogHandler() }
        return try PolicyEngine(sources: sources, limits: limits, logger: quiet, metricsFactory: NOOPMetricsHandler.instance).revision
    }

    /// What `since` may look like, for error messages.
    public static let acceptedDateFormats =
        "an ISO-8601 date (2026-01-31, meaning midnight UTC) or date-time with a time zone (2026-01-31T09:30:00Z, 2026-01-31T09:30:00.250+02:00)"

    /// Reads `since` from the CLI or the API; nil when it is in none of the accepted formats.
    public static func date(from text: String) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        // The date-only style also reads the date at the start of a longer text, and would
        // drop a time without a zone instead of refusing it: only a bare date goes to it.
        if text.utf8.count == 10 {
            return try? Date.ISO8601FormatStyle().year().month().day().parse(text)
        }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    // MARK: Running

    public func run() async throws -> Summary {
        let started = ContinuousClock.now
        var summary = Summary(candidateRevision: candidate.id, since: since)
        var page = try await store.decisions(since: since, after: nil, limit: pageSize)
        while let last = page.last {
            try Task.checkCancellation()
            async let following = store.decisions(since: since, after: PolicyDecisionCursor(after: last), limit: pageSize)
            let replays = await replay(page)
            for (record, replay) in zip(page, replays) {
                add(replay, of: record, to: &summary)
            }
            page = try await following
        }
        try await nameHolds(in: &summary)
        summary.cors = try await previewCORS()
        summary.elapsed = ContinuousClock.now - started
        return summary
    }

    /// Examples of `hold_limit` name the hold their create operation made, or for a refused
    /// request the client and its Idempotency-Key; `hold_schedule` decisions are about a hold.
    private func nameHolds(in summary: inout Summary) async throws {
        for hook in Self.replayedHooks {
            guard var hookSummary = summary.hooks[hook] else { continue }
            for (kind, examples) in hookSummary.examples {
                var named = examples
                for index in named.indices {
                    guard let subject = named[index].subject else { continue }
                    if hook == .holdSchedule {
                        named[index].holdID = subject
                    } else if let operation = try await operations?.createOperation(key: subject) {
                        named[index].holdID = operation.holdID
                        named[index].request = "client \(operation.client)"
                            + (operation.clientIdempotencyKey.map { ", Idempotency-Key \($0)" } ?? "")
                    }
                }
                hookSummary.examples[kind] = named
            }
            summary.hooks[hook] = hookSummary
        }
    }

    /// What happened to one stored decision; the values are kept only for changes, errors
    /// and unreadable records, the only ones that can become examples.
    struct Replay: Sendable {
        var hook: PolicyHook
        var kind: Kind
        var input: JSONValue?
        var stored: JSONValue?
        var candidate: JSONValue?
        var error: String?
        /// Kept for every replay, for the totals: the hold's amount, currency, property,
        /// the stored tier, and what a schedule change does to captured money.
        var amount: Int64?
        var currency: String?
        var property: String?
        var tier: String?
        var captureChange: Int64?
    }

    /// The page's replays in the page's order (nil for a hook that is not replayed).
    private func replay(_ page: [PolicyDecisionRecord]) async -> [Replay?] {
        // Small pages are not worth a task per core.
        let workers = min(concurrency, max(1, page.count / 64))
        if workers == 1 { return page.map(replayDecision) }
        let chunkSize = (page.count + workers - 1) / workers
        return await withTaskGroup(of: (Int, [Replay?]).self) { group in
            for start in stride(from: 0, to: page.count, by: chunkSize) {
                let chunk = page[start..<min(start + chunkSize, page.count)]
                group.addTask { (start, chunk.map(replayDecision)) }
            }
            var chunks: [(Int, [Replay?])] = []
            for await chunk in group { chunks.append(chunk) }
            return chunks.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    private func replayDecision(_ record: PolicyDecisionRecord) -> Replay? {
        guard let hook = PolicyHook(rawValue: record.hook), Self.replayedHooks.contains(hook) else { return nil }
        let input: JSONValue, stored: JSONValue
        do {
            input = try JSONValue(jsonData: record.input)
            stored = try JSONValue(jsonData: record.decision)
        } catch {
            return Replay(hook: hook, kind: .unreadable, error: "stored JSON: \(error)")
        }
        guard case .object = input, case .object = stored else {
            return Replay(hook: hook, kind: .unreadable, input: input, stored: stored, error: "the stored input and decision must be JSON objects")
        }
        var replay = Replay(hook: hook, kind: .unchanged, amount: input["amount"]?.integerValue, currency: input["currency"]?.stringValue,
                            property: input["property_id"]?.stringValue, tier: stored["tier"]?.stringValue)
        let evaluation = candidate.evaluate(hook, input: input)
        if evaluation.source == .failClosed {
            replay.kind = .candidateError
            replay.input = input
            replay.stored = stored
            replay.error = evaluation.error.map { "\($0.kind.rawValue): \($0.message)" } ?? "the candidate failed"
            return replay
        }
        let kind: Kind?
        switch hook {
        case .holdLimit: kind = Self.compareHoldLimit(input: input, stored: stored, candidate: evaluation.decision)
        default: kind = Self.compareHoldSchedule(stored: stored, candidate: evaluation.decision)
        }
        guard let kind else {
            return Replay(hook: hook, kind: .unreadable, input: input, stored: stored, candidate: evaluation.decision,
                          error: "the stored decision lacks the fields \(hook.name) decides")
        }
        replay.kind = kind
        if kind == .unchanged { return replay }
        if hook == .holdSchedule { replay.captureChange = Self.captureChange(input: input, stored: stored, candidate: evaluation.decision) }
        replay.input = input
        replay.stored = stored
        replay.candidate = evaluation.decision
        return replay
    }

    /// Nil when the stored decision is not a hold_limit decision.
    static func compareHoldLimit(input: JSONValue, stored: JSONValue, candidate: JSONValue) -> Kind? {
        let amount = input["amount"]?.integerValue ?? 0
        guard let storedAllow = stored["allow"]?.boolValue, let storedMaximum = stored["max_amount"]?.integerValue,
              let candidateAllow = candidate["allow"]?.boolValue, let candidateMaximum = candidate["max_amount"]?.integerValue else {
            return nil
        }
        let allowedBefore = storedAllow && amount <= storedMaximum
        let allowedNow = candidateAllow && amount <= candidateMaximum
        switch (allowedBefore, allowedNow) {
        case (true, false): return .newlyRefused
        case (false, true): return .newlyAllowed
        case (false, false): return .unchanged
        case (true, true):
            let sameTier = stored["tier"]?.stringValue == candidate["tier"]?.stringValue
            return sameTier && storedMaximum == candidateMaximum ? .unchanged : .differentLimit
        }
    }

    /// Nil when the stored decision has no action.
    static func compareHoldSchedule(stored: JSONValue, candidate: JSONValue) -> Kind? {
        guard let action = stored["action"]?.stringValue else { return nil }
        let same = action == candidate["action"]?.stringValue
            && stored["at"]?.integerValue == candidate["at"]?.integerValue
            && stored["amount"]?.integerValue == candidate["amount"]?.integerValue
        return same ? .unchanged : .differentSchedule
    }

    private func add(_ replay: Replay?, of record: PolicyDecisionRecord, to summary: inout Summary) {
        guard let replay else {
            summary.skipped += 1
            return
        }
        summary.replayed += 1
        summary.storedRevisions[record.revision, default: 0] += 1
        if summary.firstDecisionAt == nil { summary.firstDecisionAt = record.createdAt }
        summary.lastDecisionAt = record.createdAt
        // Changed in place: copying the hook's summary out and back would copy its
        // dictionaries for every decision.
        summary.hooks[replay.hook, default: HookSummary()].record(replay, of: record, examplesPerKind: examplesPerKind)
    }
}
