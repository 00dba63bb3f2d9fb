import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `/admin/*` takes `Authorization: Bearer <ADMIN_TOKEN>`, a token distinct from every
/// client token (API.md), so a property manager's app can never reload policies. Like
/// client tokens it is kept only as a SHA-256 digest and compared in constant time.
public struct AdminAuthenticator: Sendable {
    private let digest: [UInt8]?

    /// Nil token: admin routes are disabled and answer 503.
    public init(token: String?) {
        digest = token.flatMap { $0.isEmpty ? nil : Array(SHA256.hash(data: Data($0.utf8))) }
    }

    public var isConfigured: Bool { digest != nil }

    func accepts(_ token: String) -> Bool {
        guard let digest else { return false }
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        var difference: UInt8 = 0
        for index in 0..<32 { difference |= digest[index] ^ presented[index] }
        return difference == 0
    }
}

struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = ChittyChargeRequestContext

    let authenticator: AdminAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard authenticator.isConfigured else {
            throw APIError(.serviceUnavailable, "Admin routes are disabled: set ADMIN_TOKEN to enable them", code: "admin_not_configured")
        }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer ",
              authenticator.accepts(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            throw APIError(.unauthorized, "Unauthorized", code: "unauthorized",
                           details: ["hint": "admin routes take Authorization: Bearer <ADMIN_TOKEN>; client tokens are not accepted"],
                           headers: [.wwwAuthenticate: "Bearer realm=\"chittycharge-admin\""])
        }
        var context = context
        context.client = "admin"
        // Operators see every hold (read-only: `/admin/holds` has no capture or cancel).
        context.holdAccess = .everyHold
        context.logger[metadataKey: "client"] = "admin"
        RequestLogFields.current?.client = "admin"
        return try await next(request, context)
    }
}
