import HTTPTypes
import Hummingbird

/// `/api/*` requires a `ChittyID-Token` that names a configured client (API.md: 401
/// `{"error":"Unauthorized"}` otherwise). The token itself goes no further than here.
struct ClientAuthMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext

    static let tokenHeader = HTTPField.Name("ChittyID-Token")!

    let authenticator: ClientAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.headers[Self.tokenHeader], !token.isEmpty,
              let client = authenticator.client(forToken: token) else {
            throw APIError.unauthorized
        }
        var context = context
        context.client = client
        context.holdAccess = authenticator.holdAccess(for: client)
        context.logger[metadataKey: "client"] = .string(client)
        return try await next(request, context)
    }
}
