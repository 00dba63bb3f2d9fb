import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import PolicyEngine

/// An error the API answers itself, in the contract's shape
/// `{"error": sentence, "code": machine_code, "details": …}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var code: String
    public var details: [String: PolicyValue]?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, code: String, details: [String: PolicyValue]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.code = code
        self.details = details
        self.headers = headers
    }

    public static let unauthorized = APIError(.unauthorized, "Unauthorized", code: "unauthorized")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.jsonResponse(
            HoldServiceError(httpStatus: status.code, message: message, code: code, details: details).body,
            status: status, headers: headers)
    }

    static func jsonResponse(_ body: Data, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension HoldServiceError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        APIError.jsonResponse(body, status: status)
    }
}
