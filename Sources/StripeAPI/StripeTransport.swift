import Foundation

/// One HTTP request to Stripe's API, already encoded: what travels over a socket, or
/// straight into the in-process emulator.
public struct StripeHTTPRequest: Sendable, Equatable {
    /// `GET` or `POST`.
    public var method: String
    /// Path and query, starting with `/v1/`.
    public var path: String
    /// Header names as sent (`Authorization`, `Idempotency-Key`, `Content-Type`, …).
    public var headers: [String: String]
    /// `application/x-www-form-urlencoded` body for POSTs.
    public var body: Data

    public init(method: String, path: String, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

public struct StripeHTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// How requests reach Stripe: a real HTTP client, or the emulator in the same process.
/// Throws only when no response arrived (connection refused, timeout…); any response,
/// including a 500, is returned for the client to judge.
public protocol StripeTransport: Sendable {
    func send(_ request: StripeHTTPRequest) async throws -> StripeHTTPResponse
}
