/// How many times, and how patiently, `StripeClient` asks Stripe again when it got no
/// final answer. Every attempt of one call reuses the same idempotency key, so retrying
/// can never act twice.
///
/// The delay before retry *n* (n = 1 after the first failed attempt) is
/// `min(maxDelay, baseDelay · 2^(n-1))`, and with full jitter a uniformly random
/// duration between zero and that, which spreads out many clients retrying together
/// (Stripe asks for exponential backoff on 429).
public struct StripeRetryPolicy: Sendable, Equatable {
    public enum Jitter: Sendable, Equatable {
        /// Uniform in `0...delay` ("full jitter").
        case full
        /// Exactly the exponential delay; deterministic, for tests.
        case none
    }

    /// Attempts in total, including the first; at least 1.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var jitter: Jitter

    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration, jitter: Jitter = .full) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maxDelay = max(.zero, maxDelay)
        self.jitter = jitter
    }

    /// 4 attempts, 0.25 s doubling, capped at 4 s, full jitter.
    public static let `default` = StripeRetryPolicy(
        maxAttempts: 4, baseDelay: .milliseconds(250), maxDelay: .seconds(4), jitter: .full)

    /// One attempt, never retry.
    public static let none = StripeRetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero, jitter: .none)

    /// Retries without waiting: for tests that count attempts, not seconds.
    public static func immediate(maxAttempts: Int = 4) -> StripeRetryPolicy {
        StripeRetryPolicy(maxAttempts: maxAttempts, baseDelay: .zero, maxDelay: .zero, jitter: .none)
    }

    /// The wait before the next attempt, after `attempt` attempts have failed (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        delay(afterAttempt: attempt, jitterFraction: Double.random(in: 0...1))
    }

    /// The same, with the random fraction supplied (`0...1`), so the bounds can be tested.
    public func delay(afterAttempt attempt: Int, jitterFraction: Double) -> Duration {
        // Past 2^20 any sane base delay has long hit the cap; clamping keeps the
        // multiplication from overflowing.
        let exponent = min(max(attempt - 1, 0), 20)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        switch jitter {
        case .none:
            return ceiling
        case .full:
            return ceiling * min(max(jitterFraction, 0), 1)
        }
    }
}
