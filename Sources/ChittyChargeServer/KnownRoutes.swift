import HTTPTypes

/// Every path the server answers and its methods: the source of `Allow` for 405s and
/// for `OPTIONS` (plain and CORS preflight), so each path states its own methods.
enum KnownRoutes {
    static let all: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/health", [.get]),
        ("/webhook", [.post]),
        ("/metrics", [.get]),
        ("/api/holds", [.get, .post]),
        ("/api/holds/{id}", [.get]),
        ("/api/holds/{id}/events", [.get]),
        ("/api/holds/by-chitty-id/{chitty_id}", [.get]),
        ("/api/holds/{id}/capture", [.post]),
        ("/api/holds/{id}/cancel", [.post]),
        ("/api/holds/{id}/booking-events", [.post]),
        ("/admin/holds", [.get]),
        ("/admin/holds/{id}", [.get]),
        ("/admin/holds/{id}/events", [.get]),
        ("/admin/holds/by-chitty-id/{chitty_id}", [.get]),
        ("/admin/policies", [.get]),
        ("/admin/policies/reload", [.post]),
        ("/admin/policies/rollback", [.post]),
        ("/admin/policies/revisions/{revision}", [.get]),
        ("/admin/policies/backtest", [.post]),
    ]

    static func allowHeader(_ methods: [HTTPRequest.Method]) -> String {
        (methods.map(\.rawValue) + ["OPTIONS"]).joined(separator: ", ")
    }

    /// The methods of the route `path` matches (a `{name}` segment matches any one segment;
    /// among several matches the one with the most literal segments wins, so
    /// `/api/holds/by-chitty-id/x` is not taken for `/api/holds/{id}/events`), or nil.
    static func methods(forPath path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var best: (literals: Int, methods: [HTTPRequest.Method])?
        for route in all {
            let template = route.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard template.count == segments.count else { continue }
            var literals = 0
            var matches = true
            for (expected, actual) in zip(template, segments) {
                if expected.hasPrefix("{") {
                    if actual.isEmpty { matches = false; break }
                } else if expected == actual {
                    literals += 1
                } else {
                    matches = false
                    break
                }
            }
            if matches, literals > (best?.literals ?? -1) { best = (literals, route.methods) }
        }
        return best?.methods
    }
}
