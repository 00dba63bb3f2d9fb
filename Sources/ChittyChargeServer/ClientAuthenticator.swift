import ChittyCharge
import Crypto
import Foundation

/// Tells API clients apart by their `ChittyID-Token`. Tokens are kept only as SHA-256
/// digests and every configured digest is compared in constant time, so neither the
/// comparison time nor a memory dump gives a token away. The name is what policies,
/// logs and rate limits see.
public struct ClientAuthenticator: Sendable {
    public struct Client: Sendable, Equatable {
        public var name: String
        let digest: [UInt8]
    }

    public enum ConfigurationError: Error, CustomStringConvertible {
        case malformedLine(Int, String)
        case duplicateName(String)

        public var description: String {
            switch self {
            case .malformedLine(let line, let reason): "clients file line \(line): \(reason) (expected name:sha256-hex-of-token)"
            case .duplicateName(let name): "clients file names '\(name)' twice"
            }
        }
    }

    /// The name the shared `CHITTY_ID_TOKEN` authenticates as.
    public static let sharedTokenClientName = "default"

    public private(set) var clients: [Client] = []

    public init() {}

    /// The earlier service's single shared token.
    public mutating func addSharedToken(_ token: String) {
        clients.append(Client(name: Self.sharedTokenClientName, digest: Array(SHA256.hash(data: Data(token.utf8)))))
    }

    public mutating func addClient(name: String, tokenSHA256Hex: String) throws {
        guard !clients.contains(where: { $0.name == name }) else { throw ConfigurationError.duplicateName(name) }
        guard let digest = Hex.decode(tokenSHA256Hex), digest.count == 32 else {
            throw ConfigurationError.malformedLine(0, "'\(name)' needs a 64-digit hex SHA-256")
        }
        clients.append(Client(name: name, digest: digest))
    }

    /// Reads `CHITTYCHARGE_CLIENTS_FILE`: one `name:sha256hex` per line, `#` comments.
    public mutating func addClients(fileContents: String) throws {
        for (index, rawLine) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError.malformedLine(index + 1, "no name before ':'")
            }
            guard parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw ConfigurationError.malformedLine(index + 1, "a name may use letters, digits, '-', '_' and '.'")
            }
            do {
                try addClient(name: parts[0], tokenSHA256Hex: parts[1])
            } catch ConfigurationError.malformedLine(_, let reason) {
                throw ConfigurationError.malformedLine(index + 1, reason)
            }
        }
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

    public var isEmpty: Bool { clients.isEmpty }
}
