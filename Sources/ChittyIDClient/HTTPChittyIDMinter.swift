import AsyncHTTPClient
import ChittyCharge
import Foundation
import NIOCore
import NIOHTTP1

/// Mints ChittyIDs with the ChittyID service: `POST $CHITTYID_URL/v1/mint`, bearer
/// `CHITTY_ID_TOKEN`, body `{"entity_type":"AUTH","metadata":{…}}`, answer `{"chitty_id":"…"}`.
/// One attempt per call: retrying with backoff is the outbox's job, so a slow ChittyID
/// service never holds up placing a hold for long.
public struct HTTPChittyIDMinter: ChittyIDMinter {
    public enum MintError: Error, CustomStringConvertible {
        case status(Int, String)
        case unreadableAnswer(String)

        public var description: String {
            switch self {
            case .status(let code, let body): "ChittyID answered HTTP \(code): \(body.prefix(200))"
            case .unreadableAnswer(let body): "ChittyID's answer has no chitty_id: \(body.prefix(200))"
            }
        }
    }

    let httpClient: HTTPClient
    let mintURL: String
    let token: String
    let timeout: TimeAmount

    public init(httpClient: HTTPClient, baseURL: String, token: String, timeout: TimeAmount = .seconds(5)) {
        self.httpClient = httpClient
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.mintURL = base + "/v1/mint"
        self.token = token
        self.timeout = timeout
    }

    public func mint(entityType: String, metadata: [String: String]) async throws -> String {
        var request = HTTPClientRequest(url: mintURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ChittyCharge/1.0")
        let payload = try JSONSerialization.data(
            withJSONObject: ["entity_type": entityType, "metadata": metadata], options: [.sortedKeys])
        request.body = .bytes(ByteBuffer(bytes: payload))
        let response = try await httpClient.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 64 * 1024)
        let text = String(buffer: body)
        guard (200..<300).contains(response.status.code) else {
            throw MintError.status(Int(response.status.code), text)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let chittyID = object["chitty_id"] as? String, !chittyID.isEmpty else {
            throw MintError.unreadableAnswer(text)
        }
        return chittyID
    }
}
