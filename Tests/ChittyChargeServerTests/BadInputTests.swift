import ChittyCharge
import Foundation
import Testing

@Suite("Bad input: a clear JSON error, and nothing changes")
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var method: NIOHTTP1Method
        var path: String
        var body: String?
        var contentType: String? = "application/json"
        var headers: [String: String] = [:]
        var status: Int
        var code: String
        var description: String { name }
    }

    enum NIOHTTP1Method: Sendable { case get, post, delete, put }

    static let metadata51 = "{" + (0..<49).map { "\"k\($0)\":\"v\"" }.joined(separator: ",") + "}"

    static let cases: [Case] = [
        Case(name: "invalid JSON", method: .post, path: "/api/holds", body: "{amount: 5}", status: 400, code: "invalid_request"),
        Case(name: "empty body", method: .post, path: "/api/holds", body: "", status: 400, code: "invalid_request"),
        Case(name: "JSON array", method: .post, path: "/api/holds", body: "[1,2]", status: 400, code: "invalid_request"),
        Case(name: "missing amount", method: .post, path: "/api/holds", body: #"{"description":"x"}"#, status: 400, code: "invalid_request"),
        Case(name: "amount as string", method: .post, path: "/api/holds", body: #"{"amount":"5000","description":"x"}"#, status: 400, code: "invalid_request"),
        Case(name: "fractional amount", method: .post, path: "/api/holds", body: #"{"amount":50.5,"description":"x"}"#, status: 400, code: "invalid_request"),
        Case(name: "negative amount", method: .post, path: "/api/holds", body: #"{"amount":-5,"description":"x"}"#, status: 400, code: "invalid_request"),
        Case(name: "huge amount", method: .post, path: "/api/holds", body: #"{"amount":1e300,"description":"x"}"#, status: 400, code: "invalid_request"),
        Case(name: "missing description", method: .post, path: "/api/holds", body: #"{"amount":5000}"#, status: 400, code: "invalid_request"),
        Case(name: "blank description", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"  "}"#, status: 400, code: "invalid_request"),
        Case(name: "bad currency", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"x","currency":"dollars"}"#, status: 400, code: "invalid_request"),
        Case(name: "bad email", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"x","customer_email":"nope"}"#, status: 400, code: "invalid_request"),
        Case(name: "metadata not an object", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"x","metadata":"a"}"#, status: 400, code: "invalid_request"),
        Case(name: "51 metadata keys with property and tenant", method: .post, path: "/api/holds",
             body: #"{"amount":5000,"description":"x","property_id":"p","tenant_id":"t","metadata":"# + metadata51 + "}", status: 400, code: "invalid_request"),
        Case(name: "metadata key too long", method: .post, path: "/api/holds",
             body: #"{"amount":5000,"description":"x","metadata":{""# + String(repeating: "k", count: 41) + #"":"v"}}"#, status: 400, code: "invalid_request"),
        Case(name: "metadata value too long", method: .post, path: "/api/holds",
             body: #"{"amount":5000,"description":"x","metadata":{"k":""# + String(repeating: "v", count: 501) + #""}}"#, status: 400, code: "invalid_request"),
        Case(name: "customer without payment_method", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"x","customer":"cus_1"}"#, status: 400, code: "invalid_request"),
        Case(name: "not JSON content type", method: .post, path: "/api/holds", body: "amount=5000", contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"),
        Case(name: "no content type", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"x"}"#, contentType: nil, status: 415, code: "unsupported_media_type"),
        Case(name: "body over 64 KiB", method: .post, path: "/api/holds",
             body: #"{"amount":5000,"description":""# + String(repeating: "x", count: 70_000) + #""}"#, status: 413, code: "body_too_large"),
        Case(name: "idempotency key too long", method: .post, path: "/api/holds", body: #"{"amount":5000,"description":"x"}"#,
             headers: ["Idempotency-Key": String(repeating: "k", count: 256)], status: 400, code: "invalid_idempotency_key"),
        Case(name: "unknown hold", method: .get, path: "/api/holds/pi_doesnotexist", status: 404, code: "hold_not_found"),
        Case(name: "malformed hold id", method: .get, path: "/api/holds/..%2F..%2Fetc", status: 404, code: "hold_not_found"),
        Case(name: "capture unknown hold", method: .post, path: "/api/holds/pi_doesnotexist/capture", body: "{}", status: 404, code: "hold_not_found"),
        Case(name: "cancel unknown hold", method: .post, path: "/api/holds/pi_doesnotexist/cancel", status: 404, code: "hold_not_found"),
        Case(name: "capture with a string amount", method: .post, path: "/api/holds/pi_doesnotexist/capture", body: #"{"amount_to_capture":"10"}"#, status: 400, code: "invalid_request"),
        Case(name: "capture with broken JSON", method: .post, path: "/api/holds/pi_x/capture", body: "{", status: 400, code: "invalid_request"),
        Case(name: "list with limit 0", method: .get, path: "/api/holds?limit=0", status: 400, code: "invalid_request"),
        Case(name: "list with unknown status", method: .get, path: "/api/holds?status=paid", status: 400, code: "invalid_request"),
        Case(name: "list with unknown cursor", method: .get, path: "/api/holds?starting_after=pi_nope", status: 400, code: "invalid_request"),
        Case(name: "unknown route", method: .get, path: "/api/nothing", status: 404, code: "route_not_found"),
        Case(name: "wrong method", method: .delete, path: "/api/holds/pi_123", status: 405, code: "method_not_allowed"),
        Case(name: "PUT on the collection", method: .put, path: "/api/holds", body: "{}", status: 405, code: "method_not_allowed"),
    ]

    @Test(arguments: cases)
    func refusedWithoutSideEffects(_ testCase: Case) async throws {
        try await ServerHarness.run { harness in
            var headers = testCase.headers
            headers["ChittyID-Token"] = ServerHarness.token
            if let contentType = testCase.contentType, testCase.body != nil { headers["Content-Type"] = contentType }
            let method: NIOHTTP1.HTTPMethod = switch testCase.method {
            case .get: .GET
            case .post: .POST
            case .delete: .DELETE
            case .put: .PUT
            }
            let reply = try await harness.api.send(method, testCase.path, headers: headers, body: testCase.body.map { Data($0.utf8) })
            #expect(reply.status == testCase.status, "\(reply.text)")
            #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(reply.json["code"]?.stringValue == testCase.code, "\(reply.text)")
            #expect((reply.json["error"]?.stringValue?.isEmpty ?? true) == false)
            if testCase.status == 405 { #expect(reply.header("Allow") != nil) }
            #expect(await harness.emulator.calls().isEmpty)
            #expect(try await harness.store.holds(matching: HoldFilter()).isEmpty)
            #expect(try await harness.store.pendingCreates().isEmpty)
        }
    }
}

import NIOHTTP1
