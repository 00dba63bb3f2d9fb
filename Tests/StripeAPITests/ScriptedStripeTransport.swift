import ChittyCharge
import Logging
import Foundation
import StripeAPI
import Synchronization
import Testing

/// An in-memory `StripeTransport` that plays back canned steps in order and records
/// every request it was given, so tests can check both what was sent and how often.
final class ScriptedStripeTransport: StripeTransport {
    enum Step: Sendable {
        case respond(StripeHTTPResponse)
        case fail(any Error)
    }

    struct ConnectionRefused: Error, CustomStringConvertible {
        var description: String { "connection refused (scripted)" }
    }

    struct ScriptExhausted: Error, CustomStringConvertible {
        var description: String { "the test script has no more steps" }
    }

    private struct State {
        var steps: [Step]
        var requests: [StripeHTTPRequest] = []
    }

    private let state: Mutex<State>
    /// When set, the last step is played again whenever the script runs out.
    private let repeatsLastStep: Bool

    init(_ steps: [Step], repeatsLastStep: Bool = false) {
        state = Mutex(State(steps: steps))
        self.repeatsLastStep = repeatsLastStep
    }

    var requests: [StripeHTTPRequest] { state.withLock { $0.requests } }

    func send(_ request: StripeHTTPRequest) async throws -> StripeHTTPResponse {
        let step: Step? = state.withLock { state in
            state.requests.append(request)
            guard !state.steps.isEmpty else { return nil }
            if state.steps.count == 1, repeatsLastStep { return state.steps[0] }
            return state.steps.removeFirst()
        }
        switch step {
        case .respond(let response)?: return response
        case .fail(let error)?: throw error
        case nil: throw ScriptExhausted()
        }
    }
}

/// Records the backoff a client asked for instead of waiting.
final class SleepRecorder: Sendable {
    private let durations = Mutex<[Duration]>([])

    var recorded: [Duration] { durations.withLock { $0 } }

    var sleep: @Sendable (Duration) async -> Void {
        { [self] duration in durations.withLock { $0.append(duration) } }
    }
}

extension ScriptedStripeTransport.Step {
    static func json(_ status: Int, _ body: String, headers: [String: String] = [:]) -> Self {
        var allHeaders = headers
        allHeaders["content-type"] = "application/json"
        return .respond(StripeHTTPResponse(status: status, headers: allHeaders, body: Data(body.utf8)))
    }

    static func stripeError(
        _ status: Int, type: String, code: String? = nil, declineCode: String? = nil,
        message: String = "scripted error", param: String? = nil, headers: [String: String] = [:]
    ) -> Self {
        var error: [String: String] = ["type": type, "message": message]
        error["code"] = code
        error["decline_code"] = declineCode
        error["param"] = param
        let body = (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])) ?? Data()
        return .json(status, String(decoding: body, as: UTF8.self), headers: headers)
    }

    static func intent(_ id: String = "pi_123", status: String = "requires_capture") -> Self {
        .json(200, paymentIntentJSON(id: id, status: status))
    }
}

func paymentIntentJSON(id: String = "pi_123", status: String = "requires_capture") -> String {
    """
    {"id":"\(id)","object":"payment_intent","status":"\(status)","amount":5000,"amount_capturable":5000,
     "amount_received":0,"currency":"usd","client_secret":"\(id)_secret_abc","created":1700000000,
     "metadata":{"property_id":"p1"},
     "latest_charge":{"id":"ch_1","payment_method_details":{"card":{"capture_before":1700600000}}}}
    """
}

/// Runs a gateway call and returns its error, or nil when it succeeded. (Closures infer
/// untyped `throws`, hence the cast; anything but a `PaymentGatewayError` is a test failure.)
func gatewayError(_ call: () async throws -> PaymentIntent) async -> PaymentGatewayError? {
    do {
        _ = try await call()
        return nil
    } catch let error as PaymentGatewayError {
        return error
    } catch {
        Issue.record("expected a PaymentGatewayError, got \(error)")
        return nil
    }
}

/// A form body as name → decoded value (names keep their literal brackets).
func formFields(_ body: Data) -> [String: String] {
    var fields: [String: String] = [:]
    let text = String(decoding: body, as: UTF8.self)
    for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        fields[name] = value
    }
    return fields
}

let testSecretKey = "sk_test_scripted_123"
/// The client's retries and refusals are logged at warning and error; tests do not need them.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

func makeClient(
    _ transport: ScriptedStripeTransport, retryPolicy: StripeRetryPolicy = .immediate(),
    sleeps: SleepRecorder = SleepRecorder()
) -> StripeClient {
    StripeClient(transport: transport, secretKey: testSecretKey, retryPolicy: retryPolicy, logger: quietLogger, sleep: sleeps.sleep)
}
