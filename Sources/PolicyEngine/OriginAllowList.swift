/// Matches a browser `Origin` against allow-list entries by parsing both, never by building
/// a pattern from an entry. The earlier service turned `https://*.chitty.cc` into an
/// unanchored regex with unescaped dots, so `https://evilchitty.cc` matched it.
///
/// Entries: `*` (any well-formed origin), an exact origin, or `scheme://*.suffix[:port]`
/// (one or more labels before `suffix`, same scheme and port). Any other `*` matches nothing.
/// Comparison ignores case. The default policy's `origins.lua` implements the same rules;
/// a test keeps the two in agreement.
public struct OriginAllowList: Sendable, Equatable {
    public static let builtInEntries = ["https://chitty.cc", "https://*.chitty.cc"]

    public let entries: [String]

    public init(_ entries: [String]) {
        self.entries = entries.isEmpty ? Self.builtInEntries : entries
    }

    public func allows(_ origin: String) -> Bool {
        let origin = origin.lowercased()
        guard let parsed = ParsedOrigin(origin) else { return false }
        return entries.contains { Self.entry($0.lowercased(), matches: parsed, text: origin) }
    }

    private static func entry(_ entry: String, matches origin: ParsedOrigin, text: String) -> Bool {
        if entry == "*" { return true }
        guard entry.contains("*") else { return entry == text }
        guard let separator = entry.range(of: "://*.") else { return false }
        let scheme = entry[..<separator.lowerBound]
        let suffixAndPort = entry[separator.upperBound...]
        guard let pattern = ParsedOrigin("\(scheme)://\(suffixAndPort)") else { return false }
        guard origin.scheme == pattern.scheme, origin.port == pattern.port else { return false }
        // At least one whole label before ".suffix": hosts are well-formed, so a longer host
        // that ends in ".suffix" has one.
        return origin.host.hasSuffix("." + pattern.host)
    }
}

/// `scheme://host[:port]` and nothing else: no userinfo, path, query or fragment.
struct ParsedOrigin: Equatable {
    let scheme: Substring
    let host: Substring
    let port: Substring?

    init?(_ text: String) {
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound]
        guard let first = scheme.first, first.isASCII, first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) })
        else { return nil }
        var authority = text[separator.upperBound...]
        var port: Substring?
        if let colon = authority.lastIndex(of: ":") {
            let digits = authority[authority.index(after: colon)...]
            guard (1...5).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            port = digits
            authority = authority[..<colon]
        }
        let labels = authority.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty, labels.allSatisfy({ label in
            !label.isEmpty && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }) else { return nil }
        self.scheme = scheme
        self.host = authority
        self.port = port
    }
}
