import StripeAPI
import Testing

@Suite("StripeRetryPolicy")
struct StripeRetryPolicyTests {
    @Test("the default is 4 attempts, 0.25 s doubling, capped at 4 s, full jitter")
    func defaults() {
        let policy = StripeRetryPolicy.default
        #expect(policy.maxAttempts == 4)
        #expect(policy.baseDelay == .milliseconds(250))
        #expect(policy.maxDelay == .seconds(4))
        #expect(policy.jitter == .full)
        #expect(StripeRetryPolicy.none.maxAttempts == 1)
        #expect(StripeRetryPolicy.immediate().delay(afterAttempt: 3) == .zero)
    }

    @Test("without jitter the delay doubles and stops at the cap")
    func exponentialWithCap() {
        let policy = StripeRetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(250), maxDelay: .seconds(4), jitter: .none)
        let delays = (1...7).map { policy.delay(afterAttempt: $0) }
        #expect(delays == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)])
        #expect(policy.delay(afterAttempt: 1_000) == .seconds(4))
    }

    @Test("full jitter scales the capped delay by the random fraction and stays in bounds")
    func fullJitterBounds() {
        let policy = StripeRetryPolicy.default
        #expect(policy.delay(afterAttempt: 3, jitterFraction: 0) == .zero)
        #expect(policy.delay(afterAttempt: 3, jitterFraction: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 3, jitterFraction: 0.5) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 9, jitterFraction: 1) == .seconds(4))
        for _ in 0..<200 {
            let delay = policy.delay(afterAttempt: 2)
            #expect(delay >= .zero && delay <= .milliseconds(500))
        }
    }

    @Test("at least one attempt, whatever is asked")
    func atLeastOneAttempt() {
        #expect(StripeRetryPolicy(maxAttempts: 0, baseDelay: .zero, maxDelay: .zero).maxAttempts == 1)
    }
}
