import HTTPTypes
import Hummingbird
import PolicyEngine

/// CORS decided per request by the policy's `cors` hook. An allowed origin is echoed
/// exactly (with `Vary: Origin`); a refused one gets no `Access-Control-Allow-Origin` at
/// all, never a substitute. Preflights are answered here, before authentication.
struct CORSPolicyMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext

    let policies: PolicyEngine
    /// `ALLOWED_ORIGINS`: when set, it overrides the policy's `settings.json`
    /// `cors.allowed_origins` (see `originsInForce`).
    let allowedOrigins: [String]
    /// Where each origin is noted once a day, for the backtest's CORS preview.
    var sightings: OriginSightingRecorder?

    /// The list the `cors` hook is handed as `config.allowed_origins`, and where it comes from.
    static func originsInForce(configured: [String], revision: PolicyRevision) -> (origins: [String], source: String) {
        configured.isEmpty ? (revision.sources.allowedOrigins, "settings.json") : (configured, "ALLOWED_ORIGINS")
    }

    static let allowHeaders = "Content-Type, ChittyID-Token, Idempotency-Key"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // OPTIONS names the path's own methods; an unknown path is 404 as for any method.
        var pathMethods: String?
        if request.method == .options {
            guard let methods = KnownRoutes.methods(forPath: request.uri.path) else {
                throw APIError(.notFound, "No route for OPTIONS \(request.uri.path)", code: "route_not_found")
            }
            pathMethods = KnownRoutes.allowHeader(methods)
        }
        guard let origin = request.headers[.origin] else {
            if let pathMethods {
                return Response(status: .noContent, headers: [.allow: pathMethods])
            }
            return try await next(request, context)
        }
        let isPreflight = request.method == .options
        let method = isPreflight ? (request.headers[.accessControlRequestMethod] ?? "OPTIONS") : request.method.rawValue
        let revision = policies.revision
        let evaluation = revision.cors(CORSHook.Input(
            origin: origin, method: method, path: request.uri.path,
            allowedOrigins: Self.originsInForce(configured: allowedOrigins, revision: revision).origins))
        RequestLogFields.current?.policyRevision = evaluation.revision
        sightings?.note(origin, allowed: evaluation.decision.allow, revision: evaluation.revision, logger: context.logger)
        if evaluation.source == .failClosed {
            context.logger.warning("cors hook failed; origin refused", metadata: ["policy.revision": .string(evaluation.revision), "origin": .string(origin)])
        }
        let allowed = evaluation.decision.allow
        if isPreflight {
            var headers: HTTPFields = [.vary: "Origin", .allow: pathMethods ?? ""]
            if allowed {
                headers[.accessControlAllowOrigin] = origin
                headers[.accessControlAllowMethods] = pathMethods
                headers[.accessControlAllowHeaders] = Self.allowHeaders
                headers[.accessControlMaxAge] = "600"
            }
            return Response(status: .noContent, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Errors need CORS headers too, or the browser hides the JSON error from the page.
            response = try ErrorMiddleware.render(error, request: request, context: context)
        }
        response.headers[.vary] = "Origin"
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id"
        }
        return response
    }
}
