import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The outermost middleware: every failure leaves as the contract's JSON error (never an
/// empty 500, never a stack trace), each response carries `X-Request-Id`, and each request
/// is logged once with its route, status, duration and client.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        // Hummingbird's own id lives in logger metadata, which a no-op log handler drops.
        let requestID = context.logger[metadataKey: "hb.request.id"]?.description ?? RequestIDs.next()
        context.logger[metadataKey: "request.id"] = .string(requestID)
        var response: Response
        var failure: String?
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try Self.render(error, request: request, context: context)
            if response.status.code >= 500 { failure = "\(error)" }
        } catch {
            failure = "\(error)"
            response = try APIError(.internalServerError, "The server failed to handle this request", code: "internal_error")
                .response(from: request, context: context)
        }
        response.headers[.init("X-Request-Id")!] = requestID
        let level: Logger.Level = response.status.code >= 500 ? .error : .debug
        // Built only when it will be written: formatting costs more than the GET it logs.
        if context.logger.logLevel <= level {
            let elapsed = ContinuousClock.now - started
            var metadata: Logger.Metadata = [
                "http.method": .string(request.method.rawValue),
                "http.route": .string(context.endpointPath ?? request.uri.path),
                "http.status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15),
            ]
            if let failure { metadata["error"] = .string(failure) }
            context.logger.log(level: level, "request", metadata: metadata)
        }
        return response
    }

    /// Hummingbird's own errors (unknown route, body too large, …) in our shape.
    static func render(_ error: any HTTPResponseError, request: Request, context: Context) throws -> Response {
        if error is APIError || error is HoldServiceError {
            return try error.response(from: request, context: context)
        }
        let status = error.status
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
