import Synchronization

/// What inner middleware learn about a request that its one log line needs (the client's
/// name, the policy revision that decided CORS or its rate limit, the hold a create placed). The request context is a
/// value each middleware copies before passing it on, so nothing an inner one sets reaches
/// `ErrorMiddleware` on the way out; this shared object, bound for the request's task,
/// does.
final class RequestLogFields: Sendable {
    @TaskLocal static var current: RequestLogFields?

    private struct Values {
        var client: String?
        var policyRevision: String?
        var holdID: String?
    }

    private let values = Mutex(Values())

    var client: String? {
        get { values.withLock { $0.client } }
        set { values.withLock { $0.client = newValue } }
    }

    var policyRevision: String? {
        get { values.withLock { $0.policyRevision } }
        set { values.withLock { $0.policyRevision = newValue } }
    }

    /// The hold a request placed (its id is not in the path).
    var holdID: String? {
        get { values.withLock { $0.holdID } }
        set { values.withLock { $0.holdID = newValue } }
    }
}
