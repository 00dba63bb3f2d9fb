import ChittyCharge
import Crypto
import Foundation

/// Tells API clients apart by their `ChittyID-Token`. Tokens are kept only as SHA-256
/// digests and every configured digest is compared in constant time, so neither the
/// comparison time nor a memory dump gives a token away. The name is what policies,
/// logs and rate limits see, and whose holds a client may reach (`HoldAccess`): its own
/// and those of the clients that share a group with it.
public struct ClientAuthenticator: Sendable {
    public struct Client: Sendable, Equatable {
        public var name: String
        /// The groups it shares holds with (`group=` in the clients file).
        public var groups: Set<String>
        let digest: [UInt8]
    }

    public enum ConfigurationError: Error, CustomStringConvertible {
        case malformedLine(Int, String)
        case duplicateName(String)

        public var description: String {
            switch self {
            case .malformedLine(let line, let reason):
                "clients file line \(line): \(reason) (expected name:sha256-hex-of-token, optionally :group=name[,name…])"
            case .duplicateName(let name) where name == ClientAuthenticator.sharedTokenClientName:
                "clients file names '\(name)', the shared CHITTY_ID_TOKEN's client: unset CHITTY_ID_TOKEN to give that name to this line"
            case .duplicateName(let name): "clients file names '\(name)' twice"
            }
        }
    }

    /// The name the shared `CHITTY_ID_TOKEN` authenticates as. A clients file may use it
    /// only when that token is not set: the line then owns the shared token's holds.
    public static let sharedTokenClientName = "default"

    /// Names the service uses for callers that are not API clients: `admin` for admin
    /// requests (logs, audit), `anonymous` for requests without a client (rate limit metrics).
    public static let reservedNames: Set<String> = ["admin", "anonymous"]

    /// Whether `name` is a valid client or group name: 1 to 63 of `a-z 0-9 _ -`, starting
    /// with a letter or digit. Plain lowercase ASCII, so no two names look alike in a log.
    public static func isValidName<S: StringProtocol>(_ name: S) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func isLowerAlnum(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        return isLowerAlnum(bytes[0]) && bytes.allSatisfy { isLowerAlnum($0) || $0 == 0x5F || $0 == 0x2D }
    }

    static let nameRule = "a name is 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit"

    public private(set) var clients: [Client] = []

    public init() {}

    /// The earlier service's single shared token.
    public mutating func addSharedToken(_ token: String) {
        clients.append(Client(name: Self.sharedTokenClientName, groups: [], digest: Array(SHA256.hash(data: Data(token.utf8)))))
    }

    public mutating func addClient(name: String, tokenSHA256Hex: String, groups: Set<String> = []) throws {
        guard Self.isValidName(name) else { throw ConfigurationError.malformedLine(0, "'\(name)' is not a valid name: \(Self.nameRule)") }
        guard !Self.reservedNames.contains(name) else {
            throw ConfigurationError.malformedLine(0, "'\(name)' is reserved (\(Self.reservedNames.sorted().joined(separator: ", ")) are not client names)")
        }
        guard !clients.contains(where: { $0.name == name }) else { throw ConfigurationError.duplicateName(name) }
        guard let digest = Hex.decode(tokenSHA256Hex), digest.count == 32 else {
            throw ConfigurationError.malformedLine(0, "'\(name)' needs a 64-digit hex SHA-256")
        }
        clients.append(Client(name: name, groups: groups, digest: digest))
    }

    /// Reads `CHITTYCHARGE_CLIENTS_FILE`: one `name:sha256hex` per line, optionally followed
    /// by `:group=frontdesk` or `:group=frontdesk,night` (clients sharing a group share
    /// their holds); `#` comments.
    public mutating func addClients(fileContents: String) throws {
        for (index, rawLine) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.trimmingASCIISpace(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(Self.trimmingASCIISpace)
            guard fields.count >= 2, !fields[0].isEmpty else {
                throw ConfigurationError.malformedLine(index + 1, "no name before ':'")
            }
            do {
                try addClient(name: fields[0], tokenSHA256Hex: fields[1], groups: try Self.groups(fields.dropFirst(2)))
            } catch ConfigurationError.malformedLine(_, let reason) {
                throw ConfigurationError.malformedLine(index + 1, reason)
            }
        }
    }

    /// Only ASCII spaces, tabs and a CRLF's CR: a zero-width or other Unicode space is kept,
    /// so that a name carrying one is refused rather than quietly read as another.
    private static func trimmingASCIISpace<S: StringProtocol>(_ text: S) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[first...last])
    }

    /// The optional fields after the digest: at most one `group=a,b`.
    private static func groups(_ fields: ArraySlice<String>) throws -> Set<String> {
        guard let field = fields.first else { return [] }
        guard fields.count == 1 else { throw ConfigurationError.malformedLine(0, "one ':group=' field at most, after the digest") }
        guard field.hasPrefix("group=") else {
            throw ConfigurationError.malformedLine(0, "unknown field '\(field.prefix(40))' (only group=name[,name…] may follow the digest)")
        }
        let names = field.dropFirst("group=".count).split(separator: ",", omittingEmptySubsequences: false)
        for name in names where !isValidName(name) {
            throw ConfigurationError.malformedLine(0, "group '\(name.prefix(70))' is not a valid name: \(nameRule)")
        }
        return Set(names.map(String.init))
    }

    /// The client a token belongs to, or nil. Looks at every client whatever matches.
    public func client(forToken token: String) -> String? {
        let digest = Array(SHA256.hash(data: Data(token.utf8)))
        var match: String?
        for client in clients {
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= client.digest[index] ^ digest[index] }
            if difference == 0, match == nil { match = client.name }
        }
        return match
    }

    /// The holds `name` may reach: its own and those of every client it shares a group with.
    public func holdAccess(for name: String) -> HoldAccess {
        guard let client = clients.first(where: { $0.name == name }) else { return .ownedBy([]) }
        var owners: Set<String> = [name]
        for other in clients where !other.groups.isDisjoint(with: client.groups) {
            owners.insert(other.name)
        }
        return .ownedBy(owners)
    }

    public var isEmpty: Bool { clients.isEmpty }
}
