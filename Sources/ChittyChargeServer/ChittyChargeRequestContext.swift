import ChittyCharge
import HTTPTypes
import Hummingbird
import Logging

/// Per-request state shared by the middleware and the routes.
public struct ChittyChargeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated client's name (never its token); set by `ClientAuthMiddleware`.
    public var client: String?
    /// On `/admin/*`: which admin (`admin` for `ADMIN_TOKEN`, or a name from the admins file).
    public var admin: String?
    /// The holds that client may reach; set with it. None until a client is known.
    public var holdAccess: HoldAccess = .ownedBy([])

    /// The peer's IP address, for the `rate_limit` hook's `ip`.
    public var remoteIP: String

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress ?? ""
    }

    /// The API contract's body limit: larger bodies are answered 413.
    public var maxUploadSize: Int { ServerConfiguration.maxBodySize }
}
