import Foundation
import StripeAPI

/// The request pipeline in front of the PaymentIntent logic: authentication, routing,
/// parameter decoding and idempotency, in the order Stripe applies them.
extension StripeEmulator {
    /// A path split from its query string.
    struct RequestTarget {
        var path: String
        var query: String?

        init(_ target: String) {
            if let mark = target.firstIndex(of: "?") {
                path = String(target[..<mark])
                query = String(target[target.index(after: mark)...])
            } else {
                path = target
                query = nil
            }
        }
    }

    struct ProcessedRequest {
        var response: StripeHTTPResponse
        var params: [String: String]
        var replayed = false
        var injectedFault = false
    }

    /// Which kind of key authenticated the request. Publishable keys are what a browser
    /// holds: Stripe lets them retrieve and confirm an intent given its client secret.
    enum APIKeyKind {
        case secret
        case publishable
    }

    enum Route: Equatable {
        case createPaymentIntent
        case retrievePaymentIntent(String)
        case confirmPaymentIntent(String)
        case capturePaymentIntent(String)
        case cancelPaymentIntent(String)
        case retrieveCharge(String)

        init?(method: String, path: String) {
            let segments = path.split(separator: "/", omittingEmptySubsequences: true).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            switch (method, segments.count) {
            case ("POST", 2) where segments == ["v1", "payment_intents"]:
                self = .createPaymentIntent
            case ("GET", 3) where segments[0] == "v1" && segments[1] == "payment_intents":
                self = .retrievePaymentIntent(segments[2])
            case ("POST", 4) where segments[0] == "v1" && segments[1] == "payment_intents":
                switch segments[3] {
                case "confirm": self = .confirmPaymentIntent(segments[2])
                case "capture": self = .capturePaymentIntent(segments[2])
                case "cancel": self = .cancelPaymentIntent(segments[2])
                default: return nil
                }
            case ("GET", 3) where segments[0] == "v1" && segments[1] == "charges":
                self = .retrieveCharge(segments[2])
            default:
                return nil
            }
        }

        var allowsPublishableKey: Bool {
            switch self {
            case .retrievePaymentIntent, .confirmPaymentIntent: true
            default: false
            }
        }
    }

    func process(_ request: StripeHTTPRequest, method: String, target: RequestTarget, idempotencyKey: String?,
                 requestID: String, fault: InjectedFault? = nil) -> ProcessedRequest {
        let keyKind: APIKeyKind
        switch Self.authenticate(request) {
        case .success(let kind): keyKind = kind
        case .failure(let error): return ProcessedRequest(response: render(error), params: [:])
        }

        guard let route = Route(method: method, path: target.path) else {
            let error = StripeEmulatorError(
                httpStatus: 404, type: "invalid_request_error",
                message: "Unrecognized request URL (\(method): \(target.path)). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.")
            return ProcessedRequest(response: render(error), params: [:])
        }

        var form: FormParameters
        do throws(FormDecodingError) {
            form = try FormParameters.decode(target.query ?? "")
            if method == "POST" {
                try form.add(String(decoding: request.body, as: UTF8.self))
            }
        } catch {
            let failure = StripeEmulatorError.invalidParameter("Invalid request: \(error.description)", param: nil)
            return ProcessedRequest(response: render(failure), params: [:])
        }
        let params = form.flattened()

        if keyKind == .publishable, !route.allowsPublishableKey {
            let error = StripeEmulatorError(
                httpStatus: 401, type: "invalid_request_error",
                message: "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.")
            return ProcessedRequest(response: render(error), params: params)
        }

        let endpoint = "\(method) \(target.path)"
        let fingerprint = IdempotencyRecord.fingerprint(form)
        if let idempotencyKey {
            if let early = checkIdempotencyKey(idempotencyKey, endpoint: endpoint, fingerprint: fingerprint) {
                return ProcessedRequest(response: early.response, params: params, replayed: early.replayed)
            }
        }

        var response: StripeHTTPResponse
        var keepForIdempotency = true
        if let fault {
            // Stripe's own failure, before or after acting: stored for the key like any answer.
            if fault.timing == .afterActing { _ = execute(route, parameters: ParameterReader(form: form), keyKind: keyKind) }
            response = Self.faultResponse(status: fault.status)
        } else {
            switch execute(route, parameters: ParameterReader(form: form), keyKind: keyKind) {
            case .success(let json):
                response = StripeHTTPResponse(status: 200, headers: ["content-type": "application/json"], body: json.encoded())
            case .failure(let error):
                response = render(error)
                keepForIdempotency = !error.failedValidation
            }
        }
        if let idempotencyKey, keepForIdempotency {
            response.headers["original-request"] = requestID
            storeIdempotencyRecord(
                IdempotencyRecord(endpoint: endpoint, parameterFingerprint: fingerprint, response: response,
                                  originalRequestID: requestID, storedAt: clock.now()),
                key: idempotencyKey)
        }
        return ProcessedRequest(response: response, params: params, injectedFault: fault != nil)
    }

    /// The error response, with the intent's current JSON attached when the error is about one.
    func render(_ error: StripeEmulatorError) -> StripeHTTPResponse {
        let attachedIntent = error.paymentIntentID.flatMap { paymentIntentsByID[$0] }.map { intentJSON($0, expand: []) }
        let body = StripeJSON.object(["error": error.json(paymentIntent: attachedIntent)]).encoded()
        return StripeHTTPResponse(status: error.httpStatus, headers: ["content-type": "application/json"], body: body)
    }

    // MARK: - Authentication

    static func authenticate(_ request: StripeHTTPRequest) -> Result<APIKeyKind, StripeEmulatorError> {
        guard let authorization = request.header("Authorization")?.trimmingCharacters(in: .whitespaces),
              !authorization.isEmpty
        else {
            return .failure(StripeEmulatorError(
                httpStatus: 401, type: "invalid_request_error",
                message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."))
        }
        let key: String
        let parts = authorization.split(separator: " ", maxSplits: 1).map(String.init)
        switch parts.first?.lowercased() {
        case "bearer" where parts.count == 2:
            key = parts[1].trimmingCharacters(in: .whitespaces)
        case "basic" where parts.count == 2:
            // `curl -u sk_test_…:` sends the key as the Basic user name.
            let decoded = Data(base64Encoded: parts[1]).map { String(decoding: $0, as: UTF8.self) } ?? ""
            key = String(decoded.prefix { $0 != ":" })
        default:
            key = ""
        }
        for prefix in ["sk_test_", "rk_test_"] where key.hasPrefix(prefix) && key.count > prefix.count {
            return .success(.secret)
        }
        if key.hasPrefix("pk_test_"), key.count > "pk_test_".count {
            return .success(.publishable)
        }
        return .failure(StripeEmulatorError(
            httpStatus: 401, type: "invalid_request_error",
            message: "Invalid API Key provided: \(redacted(key))"))
    }

    /// Stripe echoes only the start and the last four characters of a bad key.
    static func redacted(_ key: String) -> String {
        guard key.count > 12 else { return String(repeating: "*", count: key.count) }
        return String(key.prefix(8)) + String(repeating: "*", count: key.count - 12) + String(key.suffix(4))
    }

    // MARK: - Idempotency

    /// A replay, a key error, or `nil` when the request should execute.
    private func checkIdempotencyKey(_ key: String, endpoint: String, fingerprint: String)
        -> (response: StripeHTTPResponse, replayed: Bool)?
    {
        guard key.count <= 255 else {
            let error = StripeEmulatorError.invalidParameter(
                "Keys for idempotent requests can only be up to 255 characters long.", param: nil)
            return (render(error), false)
        }
        forgetExpiredIdempotencyRecords()
        guard let record = idempotencyRecords[key] else { return nil }
        guard record.endpoint == endpoint else {
            let error = StripeEmulatorError(
                httpStatus: 400, type: "idempotency_error",
                message: "Keys for idempotent requests can only be used for the same endpoint they were first used for ('\(record.endpoint)' vs '\(endpoint)'). Try using a key other than '\(key)' if you meant to execute a different request.")
            return (render(error), false)
        }
        guard record.parameterFingerprint == fingerprint else {
            let error = StripeEmulatorError(
                httpStatus: 400, type: "idempotency_error",
                message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '\(key)' if you meant to execute a different request.")
            return (render(error), false)
        }
        var response = record.response
        response.headers["idempotent-replayed"] = "true"
        return (response, true)
    }

    private func storeIdempotencyRecord(_ record: IdempotencyRecord, key: String) {
        idempotencyRecords[key] = record
        idempotencyKeysByAge.append(key)
        forgetExpiredIdempotencyRecords()
    }

    /// Drops results older than Stripe's retention (or beyond the capacity), oldest first,
    /// so the store stays bounded under load without scanning it.
    private func forgetExpiredIdempotencyRecords() {
        let cutoff = clock.now().addingTimeInterval(-Self.idempotencyRetention)
        while idempotencyKeysByAgeStart < idempotencyKeysByAge.count {
            let key = idempotencyKeysByAge[idempotencyKeysByAgeStart]
            guard let record = idempotencyRecords[key] else {
                idempotencyKeysByAgeStart += 1
                continue
            }
            guard record.storedAt < cutoff || idempotencyRecords.count > idempotencyCapacity else { break }
            idempotencyRecords[key] = nil
            idempotencyKeysByAgeStart += 1
        }
        if idempotencyKeysByAgeStart > 1024, idempotencyKeysByAgeStart * 2 > idempotencyKeysByAge.count {
            idempotencyKeysByAge.removeFirst(idempotencyKeysByAgeStart)
            idempotencyKeysByAgeStart = 0
        }
    }
}
