import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `/admin/*` takes `Authorization: Bearer <token>`: `ADMIN_TOKEN` (named `admin`) or a
/// named admin's token from `CHITTYCHARGE_ADMINS_FILE` (`name:sha256hex` lines, as the
/// clients file), each distinct from every client token (API.md), so a property manager's
/// app can never reload policies. Tokens are kept only as SHA-256 digests and compared in
/// constant time; the name is what activation records and logs say.
public struct AdminAuthenticator: Sendable {
    public static let sharedTokenName = "admin"

    private let digest: [UInt8]?
    private let named: ClientAuthenticator

    /// Nil token and no named admins: admin routes are disabled and answer 503.
    public init(token: String?, named: ClientAuthenticator = ClientAuthenticator()) {
        digest = token.flatMap { $0.isEmpty ? nil : Array(SHA256.hash(data: Data($0.utf8))) }
        self.named = named
    }

    public var isConfigured: Bool { digest != nil || !named.clients.isEmpty }

    /// The admin a token belongs to, or nil; every digest is compared whatever matches.
    func admin(forToken token: String) -> String? {
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        var difference: UInt8 = 1
        if let digest {
            difference = 0
            for index in 0..<32 { difference |= digest[index] ^ presented[index] }
        }
        let namedAdmin = named.client(forToken: token)
        return difference == 0 ? Self.sharedTokenName : namedAdmin
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
              let name = authenticator.admin(forToken: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            throw APIError(.unauthorized, "Unauthorized", code: "unauthorized",
                           details: ["hint": "admin routes take Authorization: Bearer <ADMIN_TOKEN>; client tokens are not accepted"],
                           headers: [.wwwAuthenticate: "Bearer realm=\"chittycharge-admin\""])
        }
        var context = context
        context.client = "admin"
        context.admin = name
        // Operators see every hold (read-only: `/admin/holds` has no capture or cancel).
        context.holdAccess = .everyHold
        context.logger[metadataKey: "client"] = "admin"
        context.logger[metadataKey: "admin"] = .string(name)
        RequestLogFields.current?.client = "admin"
        return try await next(request, context)
    }
}
