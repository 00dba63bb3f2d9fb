import Foundation
import JSON
import PolicyEngine

// MARK: JSON

extension PolicyBacktest.Summary {
    /// The summary as the API answers it and `policy backtest --json` prints it. Every kind
    /// of each hook is present, with a count of 0 when none happened.
    public var json: JSONValue {
        var hooks: [String: JSONValue] = [:]
        for hook in PolicyBacktest.replayedHooks {
            let summary = self.hooks[hook] ?? PolicyBacktest.HookSummary()
            let kinds = PolicyBacktest.Kind.kinds(for: hook)
            hooks[hook.name] = [
                "replayed": .integer(Int64(summary.replayed)),
                "changed": .integer(Int64(summary.changed)),
                "stored_fail_closed": .integer(Int64(summary.storedFailClosed)),
                "counts": .object(Dictionary(uniqueKeysWithValues: kinds.map { ($0.rawValue, .integer(Int64(summary.count($0)))) })),
                "examples": .object(Dictionary(uniqueKeysWithValues: kinds.filter { $0 != .unchanged }.map { kind in
                    (kind.rawValue, .array((summary.examples[kind] ?? []).map(\.json)))
                })),
                "impact": summary.impact.json,
                "by_property": .object(summary.byProperty.mapValues(\.json)),
                "by_tier": .object(summary.byTier.mapValues(\.json)),
            ]
        }
        return [
            "object": "policy_backtest",
            "candidate_revision": .string(candidateRevision),
            "since": since.map { .string(Self.timestamp($0)) } ?? .null,
            "replayed": .integer(Int64(replayed)),
            "skipped": .integer(Int64(skipped)),
            "first_decision_at": firstDecisionAt.map { .string(Self.timestamp($0)) } ?? .null,
            "last_decision_at": lastDecisionAt.map { .string(Self.timestamp($0)) } ?? .null,
            "stored_revisions": .object(storedRevisions.mapValues { .integer(Int64($0)) }),
            "hooks": .object(hooks),
            "cors": cors?.json ?? .null,
            "elapsed_seconds": .number((elapsedSeconds * 1000).rounded() / 1000),
            "decisions_per_second": .integer(Int64(decisionsPerSecond.rounded())),
        ]
    }

    /// Times in reports: ISO-8601 UTC with milliseconds, the precision the store keeps.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension PolicyBacktest.Example {
    public var json: JSONValue {
        [
            "decision_id": .string(decisionID),
            "subject": subject.map(JSONValue.string) ?? .null,
            "created_at": .string(PolicyBacktest.Summary.timestamp(createdAt)),
            "stored_revision": .string(storedRevision),
            "stored_source": .string(storedSource),
            "input": input ?? .null,
            "stored": stored ?? .null,
            "candidate": candidate ?? .null,
            "error": error.map(JSONValue.string) ?? .null,
            "hold_id": holdID.map(JSONValue.string) ?? .null,
            "request": request.map(JSONValue.string) ?? .null,
        ]
    }
}
