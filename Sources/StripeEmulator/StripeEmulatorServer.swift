import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StripeAPI

/// The emulator over HTTP, so anything that speaks to `api.stripe.com` (the server with
/// `--stripe emulator`, curl, a browser with a publishable key) can use it.
public enum StripeEmulatorServer {
    /// Stripe's bodies are small forms; anything bigger is a client bug.
    public static let maximumBodySize = 1 << 20

    /// Forwards every method and path under `/v1/` to `emulator.handle`, raw body and
    /// headers included, and writes its answer back unchanged.
    public static func buildRouter(emulator: StripeEmulator) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let forward: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            try await forwardRequest(request, to: emulator)
        }
        for method in [HTTPRequest.Method.get, .post, .delete, .put, .patch] {
            router.on("/v1/**", method: method, use: forward)
        }
        // Not Stripe's: what the emulator was asked, for tests that check from outside the
        // process (several servers against one emulator) that a hold was created or
        // captured once. Replays of an idempotency key are marked.
        router.get("/_emulator/calls") { _, _ in
            let calls = await emulator.calls().map { call -> [String: Any] in
                ["method": call.method, "path": call.path, "idempotency_key": call.idempotencyKey ?? NSNull(),
                 "status": call.status, "replayed": call.replayed]
            }
            let body = try JSONSerialization.data(withJSONObject: ["calls": calls], options: [.sortedKeys])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        // Browsers confirming with a publishable key send a CORS preflight first.
        router.on("/v1/**", method: .options) { _, _ in
            Response(status: .noContent, headers: corsHeaders)
        }
        return router
    }

    public static func buildApplication(
        emulator: StripeEmulator, host: String = "127.0.0.1", port: Int = 12111, logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(emulator: emulator),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "stripe-emulator"),
            logger: logger)
    }

    static let corsHeaders: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .accessControlAllowMethods: "GET, POST, DELETE, OPTIONS",
        .accessControlAllowHeaders: "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
        .accessControlExposeHeaders: "Request-Id, Idempotency-Key, Idempotent-Replayed, Original-Request",
        .accessControlMaxAge: "300",
    ]

    static func forwardRequest(_ request: Request, to emulator: StripeEmulator) async throws -> Response {
        let body = try await request.body.collect(upTo: maximumBodySize)
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let target = request.uri.query.map { "\(request.uri.path)?\($0)" } ?? request.uri.path
        let stripeRequest = StripeHTTPRequest(
            method: request.method.rawValue, path: target, headers: headers, body: Data(buffer: body))

        guard let answer = await emulator.receive(stripeRequest) else {
            // A socket cannot be refused after it was accepted; the closest is an answer
            // that is clearly not Stripe's, which clients treat as a network failure.
            return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "stripe emulator set unreachable\n")))
        }
        var responseHeaders = corsHeaders
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let fieldName = HTTPField.Name(name) { responseHeaders[fieldName] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: responseHeaders,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
