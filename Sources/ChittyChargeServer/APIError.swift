import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import JSON

/// An error the API answers itself, in the contract's shape
/// `{"error": sentence, "code": machine_code, "details": …}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var code: String
    public var details: [String: JSONValue]?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, code: String, details: [String: JSONValue]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.code = code
        self.details = details
        self.headers = headers
    }

    public static let unauthorized = APIError(.unauthorized, "Unauthorized", code: "unauthorized")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.jsonResponse(Self.body(message: message, code: code, details: details), status: status, headers: headers)
    }

    /// The contract's error body, keys sorted.
    static func body(message: String, code: String, details: [String: JSONValue]?) -> Data {
        var object: [String: JSONValue] = ["error": .string(message), "code": .string(code)]
        if let details { object["details"] = .object(details) }
        return JSONCoding.encode(JSONValue.object(object))
    }

    static let jsonContentType = "application/json; charset=utf-8"

    static func jsonResponse(_ body: Data, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = jsonContentType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The HTTP status of each kind of hold failure: the domain names what went wrong, the API
/// decides how it is said.
extension HoldServiceError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidRequest, .amountExceedsAuthorized, .holdLimitExceeded, .stripeInvalidRequest: .badRequest
        case .cardDeclined: HTTPResponse.Status(code: 402)
        case .holdNotFound, .stripeResourceMissing: .notFound
        case .idempotencyKeyReused, .bookingEventConflict, .earlierAttemptFailed, .holdAlreadyFinal, .holdAlreadyCaptured, .holdAlreadyCanceled,
             .paymentIntentUnexpectedState, .chargeExpiredForCapture, .reauthorizationImpossible, .reauthorizationNotNeeded,
             .reauthorizationRefused, .reauthorizationIncomplete, .reauthorizationFailed, .operationInProgress:
            .conflict
        case .storageError, .injectedFault: .internalServerError
        case .stripeUnavailable, .stripeAuthenticationFailed, .stripeIdempotencyError, .stripeErrorNotApplied, .createAbandoned: .badGateway
        case .policyError, .stripeNotConfigured, .webhookContention, .databaseUnavailable: .serviceUnavailable
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        // Worth retrying soon: say when.
        let headers: HTTPFields = kind == .databaseUnavailable || kind == .operationInProgress ? [.retryAfter: "1"] : [:]
        return APIError.jsonResponse(APIError.body(message: message, code: code, details: details), status: status, headers: headers)
    }
}
