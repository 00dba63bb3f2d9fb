import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import Synchronization

/// The outermost middleware: every failure leaves as the contract's JSON error (never an
/// empty 500, never a stack trace), each response carries `X-Request-Id`, and each request
/// is counted (route template, method, status class, duration) and logged once at `info`
/// (`error` for a 5xx) with its route, status, duration, client, hold and policy revision.
/// Headers are never logged, so no token reaches a log line.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext

    let metrics: ServerMetrics

    static let requestIDHeader = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        let requestID = Self.requestID(request, context: context)
        // One key for the id in every line about the request. Set in one assignment: a text
        // handler re-renders its metadata on each change. (Hummingbird's `context.id` reads
        // the key removed here; nothing in this server uses it.)
        var loggerMetadata = context.logger.handler.metadata
        loggerMetadata["hb.request.id"] = nil
        loggerMetadata["request.id"] = .string(requestID)
        context.logger.handler.metadata = loggerMetadata
        let fields = RequestLogFields()
        var response: Response
        var failure: String?
        do {
            response = try await RequestLogFields.$current.withValue(fields) { try await next(request, context) }
        } catch let error as any HTTPResponseError {
            response = try Self.render(error, request: request, context: context)
            if response.status.code >= 500 { failure = "\(error)" }
        } catch let error as HTTPParserError {
            // A broken chunked encoding, or a body cut off by the client, surfaces when the
            // body is read: the client's fault, and the connection cannot carry another request.
            response = try APIError(.badRequest, "The request is malformed: \(error); the connection is closed", code: "invalid_request",
                                    headers: [.connection: "close"]).response(from: request, context: context)
        } catch {
            failure = "\(error)"
            response = try APIError(.internalServerError, "The server failed to handle this request", code: "internal_error")
                .response(from: request, context: context)
        }
        response.headers[Self.requestIDHeader] = requestID
        let elapsed = ContinuousClock.now - started
        let route = ServerMetrics.routeLabel(context.endpointPath)
        metrics.recordResponse(route: route, method: request.method, status: response.status.code, duration: elapsed)
        let level: Logger.Level = response.status.code >= 500 ? .error : .info
        // Built only when it will be written.
        if context.logger.logLevel <= level {
            var metadata: Logger.Metadata = [
                "http.method": .string(request.method.rawValue),
                "http.route": .string(route),
                "http.status": .stringConvertible(response.status.code),
                "duration_ms": .string(Self.milliseconds(elapsed)),
            ]
            if route == ServerMetrics.unmatchedRoute { metadata["http.path"] = .string(request.uri.path) }
            if let client = fields.client { metadata["client"] = .string(client) }
            if let holdID = context.parameters.get("id") ?? fields.holdID { metadata["hold.id"] = .string(holdID) }
            if let revision = fields.policyRevision { metadata["policy.revision"] = .string(revision) }
            if let failure { metadata["error"] = .string(failure) }
            context.logger.log(level: level, "request", metadata: metadata)
        }
        return response
    }

    /// The caller's `X-Request-Id` when it is short and printable, so one id follows a call
    /// across services; otherwise Hummingbird's id for the request, or one of ours.
    static func requestID(_ request: Request, context: Context) -> String {
        if let incoming = request.headers[requestIDHeader], isAcceptableRequestID(incoming) {
            return incoming
        }
        // Hummingbird's own id lives in logger metadata, which a no-op log handler drops.
        return context.logger[metadataKey: "hb.request.id"]?.description ?? RequestIDs.next()
    }

    /// 1 to 128 visible ASCII characters: nothing that could forge a log line or a header.
    static func isAcceptableRequestID(_ value: String) -> Bool {
        let bytes = value.utf8
        return (1...128).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// "12.345": milliseconds to the microsecond, without Foundation's number formatting.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        let fraction = String(microseconds % 1000)
        return "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// Hummingbird's own errors (unknown route, body too large, …) in our shape.
    static func render(_ error: any HTTPResponseError, request: Request, context: Context) throws -> Response {
        if error is APIError || error is HoldServiceError {
            return try error.response(from: request, context: context)
        }
        let status = error.status
        // The router found no route: a known path with another method (any method, TRACE
        // and extension methods included) is 405 with the path's `Allow`, not 404.
        if status == .notFound, let methods = KnownRoutes.methods(forPath: request.uri.path) {
            let allow = KnownRoutes.allowHeader(methods)
            return try APIError(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(allow)",
                                code: "method_not_allowed", headers: [.allow: allow]).response(from: request, context: context)
        }
        let (message, code): (String, String) = switch status.code {
        case 404: ("No route for \(request.method.rawValue) \(request.uri.path)", "route_not_found")
        case 413: ("The request body is larger than \(ServerConfiguration.maxBodySize) bytes", "body_too_large")
        case 400: ("The request is malformed", "invalid_request")
        default: (status.reasonPhrase, "http_\(status.code)")
        }
        return try APIError(status, message, code: code).response(from: request, context: context)
    }
}

/// Request ids when the logger cannot provide Hummingbird's: a random per-process prefix
/// and a counter, unique enough to find one request in the logs.
enum RequestIDs {
    private static let prefix = String(UInt32.random(in: .min ... .max), radix: 36)
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        "\(prefix)-\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }
}
