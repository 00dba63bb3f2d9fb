import MetricsTestKit
import Testing
@testable import PolicyEngine

/// Lua evaluations are timed one in `PolicyMetrics.durationSampleInterval` per state and
/// recorded by hook; a sample is never lost, whatever the outcome of the evaluation.
@Suite struct PolicyDurationMetricsTests {
    func durations(_ metrics: TestMetrics, _ hook: String) -> [Int64] {
        metrics.timers(label: PolicyEvaluationDuration.label, dimensions: [("hook", hook)]).flatMap(\.values)
    }

    @Test func oneEvaluationInEightIsTimedByHook() throws {
        let interval = PolicyMetrics.durationSampleInterval
        let testMetrics = TestMetrics()
        do {
            let revision = try PolicyRevision(
                sources: makeSources(hostileHoldLimit("error('refused')")), limits: .default, logger: quietLogger,
                metrics: PolicyMetrics(factory: testMetrics))
            // With the smoke test, 4 × interval evaluations on one state; every 8th is timed.
            for _ in 0..<(4 * interval - 3) { _ = revision.holdLimit(goodRequest) }
            for _ in 0..<2 { _ = revision.holdLimit(evilRequest) }
            // Not defined: the built-in default runs no Lua and is not timed.
            for _ in 0..<(2 * interval) { _ = revision.cors(.init(origin: "https://chitty.cc")) }
            #expect(revision.idleStateCount == 1)
        }
        // The revision is gone: its state's samples have been recorded.
        let recorded = durations(testMetrics, "hold_limit")
        #expect(recorded.count == 4)
        #expect(recorded.allSatisfy { $0 > 0 })
        #expect(durations(testMetrics, "cors").isEmpty)
    }

    @Test func failingEvaluationsAreTimedToo() throws {
        let interval = PolicyMetrics.durationSampleInterval
        let testMetrics = TestMetrics()
        do {
            let revision = try PolicyRevision(
                sources: makeSources(hostileHoldLimit("error('refused')")), limits: .default, logger: quietLogger,
                metrics: PolicyMetrics(factory: testMetrics))
            // The smoke test was the first sample; then only failures, for 2 × interval more.
            for _ in 0..<(2 * interval) { _ = revision.holdLimit(evilRequest) }
        }
        #expect(durations(testMetrics, "hold_limit").count == 3)
    }
}
