import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Sends Stripe requests over HTTP with AsyncHTTPClient: to `https://api.stripe.com`, or
/// to the emulator served over HTTP (`apiBase` may carry a path prefix).
///
/// It only moves bytes: retries, idempotency and error judgement live in `StripeClient`.
/// It throws only when no complete response arrived, as `StripeTransport` requires.
public struct HTTPClientStripeTransport: StripeTransport {
    /// A PaymentIntent with an expanded charge is a few KiB; anything near this is not a
    /// Stripe answer, and reading it unbounded would let a bad peer exhaust memory.
    public static let maxResponseBodyBytes = 8 * 1024 * 1024

    private let httpClient: HTTPClient
    private let apiBase: String
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - httpClient: owned by the caller, who shuts it down.
    ///   - apiBase: scheme and host, optionally a path prefix; a trailing slash is fine.
    ///   - timeout: for the whole exchange, connecting to last body byte.
    public init(httpClient: HTTPClient, apiBase: String = "https://api.stripe.com", timeout: TimeAmount = .seconds(30)) {
        self.httpClient = httpClient
        self.apiBase = apiBase
        self.timeout = timeout
    }

    public func send(_ request: StripeHTTPRequest) async throws -> StripeHTTPResponse {
        var outgoing = HTTPClientRequest(url: Self.url(apiBase: apiBase, path: request.path))
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers {
            outgoing.headers.replaceOrAdd(name: name, value: value)
        }
        if request.method != "GET" {
            // Even an empty POST body gets a `Content-Length: 0`, which some proxies need.
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }

        let response = try await httpClient.execute(outgoing, timeout: timeout)
        let body = try await response.body.collect(upTo: Self.maxResponseBodyBytes)

        var headers: [String: String] = [:]
        for (name, value) in response.headers {
            let key = name.lowercased()
            // Repeated headers are joined as HTTP allows for list-valued fields.
            headers[key] = headers[key].map { "\($0), \(value)" } ?? value
        }
        return StripeHTTPResponse(status: Int(response.status.code), headers: headers, body: Data(body.readableBytesView))
    }

    /// `apiBase` joined with a request path without doubling or losing the slash.
    static func url(apiBase: String, path: String) -> String {
        var base = Substring(apiBase)
        while base.hasSuffix("/") { base = base.dropLast() }
        return path.hasPrefix("/") ? "\(base)\(path)" : "\(base)/\(path)"
    }
}
