import HTTPTypes
import Hummingbird
import PolicyEngine

/// Limits each client as the policy's `rate_limit` hook says (limit per window, and the
/// key to count under). Over the limit → 429 with `Retry-After`; every answer carries
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext

    let policies: PolicyEngine
    let limiter: any RateLimiter
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let client = context.client ?? "anonymous"
        let evaluation = policies.revision.rateLimit(RateLimitHook.Input(
            client: client, route: context.endpointPath ?? request.uri.path, method: request.method.rawValue,
            ip: context.remoteIP))
        // Every /api route passes here right after authentication: the request's log line
        // gets the client and the revision from this point.
        if let fields = RequestLogFields.current {
            fields.client = context.client
            fields.policyRevision = evaluation.revision
        }
        if evaluation.source == .failClosed {
            context.logger.warning("rate_limit hook failed; using the built-in limit", metadata: ["policy.revision": .string(evaluation.revision)])
        }
        let decision = evaluation.decision
        // The window is part of the key, so a policy change of window starts a fresh count.
        let outcome: RateLimitOutcome
        do {
            outcome = try await limiter.record(key: "\(decision.key)\u{1F}\(decision.window)", limit: decision.limit, window: decision.window)
        } catch {
            // Not admitted uncounted: the request is refused until the count can be kept.
            context.logger.error("rate limit could not be counted", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "The rate limit could not be checked because the database is not reachable; retry shortly",
                           code: "database_unavailable", headers: [.retryAfter: "1"])
        }
        var headers: HTTPFields = [
            .init("RateLimit-Limit")!: String(outcome.limit),
            .init("RateLimit-Remaining")!: String(outcome.remaining),
            .init("RateLimit-Reset")!: String(outcome.resetAfter),
        ]
        guard outcome.allowed else {
            headers[.retryAfter] = String(outcome.resetAfter)
            metrics.countRateLimited(client: client)
            // The request's own line (status 429, client) is at info; the key is detail.
            context.logger.debug("rate limited", metadata: ["policy.revision": .string(evaluation.revision), "rate_limit.key": .string(decision.key)])
            throw APIError(.tooManyRequests, "Rate limit exceeded: \(decision.limit) requests per \(decision.window) seconds", code: "rate_limited",
                           details: ["limit": .integer(decision.limit), "window": .integer(decision.window), "retry_after": .integer(outcome.resetAfter)],
                           headers: headers)
        }
        var response = try await next(request, context)
        for field in headers { response.headers[field.name] = field.value }
        return response
    }
}

