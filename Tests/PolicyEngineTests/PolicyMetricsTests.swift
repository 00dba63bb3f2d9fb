import MetricsTestKit
import Testing
@testable import PolicyEngine

/// POLICY.md: every evaluation, and every policy error, is counted by hook and outcome.
/// Successful Lua evaluations are counted per state and added in batches; none may be lost.
@Suite struct PolicyMetricsTests {
    func total(_ metrics: TestMetrics, _ hook: String, _ outcome: String) -> Int64 {
        metrics.counterTotal(label: "chittycharge_policy_evaluations_total", dimensions: [("hook", hook), ("outcome", outcome)])
    }

    @Test func evaluationsAreCountedByHookAndOutcome() throws {
        let testMetrics = TestMetrics()
        do {
            let revision = try PolicyRevision(
                sources: makeSources(hostileHoldLimit("error('refused')")), limits: .default, logger: quietLogger,
                metrics: PolicyMetrics(factory: testMetrics)
            )
            for _ in 0..<300 { _ = revision.holdLimit(goodRequest) }
            for _ in 0..<2 { _ = revision.holdLimit(evilRequest) }
            for _ in 0..<5 { _ = revision.cors(.init(origin: "https://chitty.cc")) }
            // Errors are counted at once; successes may still wait in the state's batch.
            #expect(total(testMetrics, "hold_limit", "error") == 2)
            #expect(total(testMetrics, "cors", "builtin") == 5)
        }
        // The revision is gone: whatever its idle states still held has been added. The smoke
        // test's evaluation counts too.
        #expect(total(testMetrics, "hold_limit", "policy") == 301)
        #expect(total(testMetrics, "rate_limit", "policy") == 0)
    }
}
