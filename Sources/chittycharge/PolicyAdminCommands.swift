import ArgumentParser
import AsyncHTTPClient
import Foundation
import JSON
import NIOCore
import NIOHTTP1
import PolicyEngine

/// How the CLI reaches a running server's `/admin` routes.
struct AdminClientOptions: ParsableArguments {
    @Option(help: "The server's base URL ($CHITTYCHARGE_URL, default http://127.0.0.1:$PORT or :8787).")
    var url: String?

    @Option(help: "The admin token (default: $ADMIN_TOKEN). Prefer the environment: arguments show in `ps`.")
    var adminToken: String?

    var baseURL: String {
        let environment = ProcessInfo.processInfo.environment
        let base = url ?? environment["CHITTYCHARGE_URL"] ?? "http://127.0.0.1:\(environment["PORT"] ?? "8787")"
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    /// Sends one admin request; returns the decoded JSON body and status, or prints why it
    /// could not and exits 1. The token is never printed.
    func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> (status: Int, body: JSONValue) {
        guard let token = adminToken ?? ProcessInfo.processInfo.environment["ADMIN_TOKEN"], !token.isEmpty else {
            printError("no admin token: set ADMIN_TOKEN (the value the server was started with) or pass --admin-token")
            throw ExitCode.failure
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        // A one-shot command should say at once that nothing listens, not retry the
        // connection for a minute and a half as a long-lived client would.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(120))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(120))
            bytes = try await response.body.collect(upTo: 16 << 20)
            try? await client.shutdown()
        } catch {
            try? await client.shutdown()
            printError("cannot reach ChittyCharge at \(baseURL): \(error) (is it running? set --url or CHITTYCHARGE_URL)")
            throw ExitCode.failure
        }
        let status = Int(response.status.code)
        let decoded = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))) ?? .null
        switch status {
        case 200..<300, 422:
            return (status, decoded)
        case 401:
            printError("the server refused the admin token (401): use the ADMIN_TOKEN the server was started with; client tokens do not work here")
        case 404 where decoded["code"]?.stringValue == "route_not_found":
            printError("\(baseURL) has no \(path): is this a ChittyCharge server of this version?")
        default:
            printError("\(method.rawValue) \(path) failed (\(status)): \(decoded["error"]?.stringValue ?? String(decoding: bytes.readableBytesView, as: UTF8.self))")
        }
        throw ExitCode.failure
    }

    /// Prints a 422 rejection (file:line and failed test cases) and exits 1.
    func reportRejection(_ body: JSONValue, what: String) throws -> Never {
        let details = body["details"]
        printError("\(what) rejected: \(details?["message"]?.stringValue ?? body["error"]?.stringValue ?? "unknown error")")
        if case .array(let failed)? = details?["failed_tests"] {
            for test in failed {
                printError("  FAIL \(test["file"]?.stringValue ?? ""): \(test["name"]?.stringValue ?? "")\n       \(test["failure"]?.stringValue ?? "")")
            }
        }
        if let active = details?["active_revision"]?.stringValue {
            printError("revision \(active) stays active")
        }
        throw ExitCode.failure
    }
}

func describeActivation(_ body: JSONValue, verb: String) -> String {
    let revision = body["revision"]?.stringValue ?? "?"
    guard body["changed"]?.boolValue ?? true else {
        return "policy unchanged: revision \(revision) is already active"
    }
    var line = "policy \(verb): revision \(revision)"
    if let previous = body["previous_revision"]?.stringValue { line += " (was \(previous))" }
    if let tests = body["tests_passed"]?.integerValue, tests > 0 { line += ", \(tests) test case(s) passed" }
    switch body["duration_ms"] {
    case .number(let duration)?: line += ", in \(String(format: "%.1f", duration)) ms"
    case .integer(let duration)?: line += ", in \(duration) ms"
    default: break
    }
    return line
}

extension PolicyCommand {
    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running server to reload its policy folder (POST /admin/policies/reload).",
            discussion: """
                The server compiles the folder, smoke-tests it and runs its tests/*.json before swapping it in; \
                if anything fails the active revision stays and this exits 1 with the error (file:line).
                """)

        @OptionGroup var server: AdminClientOptions

        @Option(name: [.customShort("m"), .long], help: "Why: kept with the activation, beside the admin's name (at most 500 characters).")
        var message: String?

        func run() async throws {
            let (status, body) = try await server.send(.POST, "/admin/policies/reload", body: message.map { ["message": .string($0)] })
            if status == 422 { try server.reportRejection(body, what: "policy reload") }
            print(describeActivation(body, verb: "reloaded"))
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-activate the previous policy revision (or --to REVISION) from the server's stored revisions.",
            discussion: """
                The policy folder on disk is not changed: the next reload (or SIGHUP) loads the folder again, \
                so fix or revert the folder too.
                """)

        @OptionGroup var server: AdminClientOptions

        @Option(help: "The revision to activate (see `chittycharge policy status`); default: the one active before the current.")
        var to: String?

        @Option(name: [.customShort("m"), .long], help: "Why: kept with the activation, beside the admin's name.")
        var message: String?

        func run() async throws {
            var fields: [String: JSONValue] = [:]
            fields["revision"] = to.map(JSONValue.string)
            fields["message"] = message.map(JSONValue.string)
            let (status, body) = try await server.send(.POST, "/admin/policies/rollback", body: fields.isEmpty ? nil : .object(fields))
            if status == 422 { try server.reportRejection(body, what: "policy rollback") }
            print(describeActivation(body, verb: "rolled back"))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the running server's active policy revision, stored revisions and last failed reload (GET /admin/policies).")

        @OptionGroup var server: AdminClientOptions

        @Flag(help: "Print the server's JSON answer.")
        var json = false

        func run() async throws {
            let (_, body) = try await server.send(.GET, "/admin/policies")
            if json {
                print(PolicyTestSuite.compactJSON(body))
                return
            }
            let active = body["active"]
            print("active revision \(active?["revision"]?.stringValue ?? "?"), loaded \(active?["loaded_at"]?.stringValue ?? "?") by \(active?["trigger"]?.stringValue ?? "?") from \(active?["directory"]?.stringValue ?? "?")")
            if case .array(let files)? = active?["files"] {
                print("  files: " + files.compactMap { $0["path"]?.stringValue }.joined(separator: ", "))
            }
            if let origins = active?["allowed_origins"], case .array(let list)? = origins["in_force"] {
                print("  allowed origins (from \(origins["source"]?.stringValue ?? "?")): "
                    + (list.isEmpty ? "none listed (the built-in https://chitty.cc, https://*.chitty.cc)" : list.compactMap(\.stringValue).joined(separator: ", ")))
            }
            if case .array(let untested)? = active?["untested_hooks"], !untested.isEmpty {
                print("  hooks without a test case: " + untested.compactMap(\.stringValue).joined(separator: ", "))
            }
            if case .object(let settings)? = active?["settings"], !settings.isEmpty {
                print("  settings.json:")
                for key in settings.keys.sorted() {
                    print("    \(key): \(PolicyTestSuite.compactJSON(settings[key]!))")
                }
            }
            if case .array(let revisions)? = body["revisions"], !revisions.isEmpty {
                print("stored revisions (newest first):")
                for revision in revisions {
                    let marker = revision["active"]?.boolValue == true ? "*" : " "
                    let who = revision["activated_by"]?.stringValue.map { " by \($0)" } ?? ""
                    let why = revision["message"]?.stringValue.map { ": \($0)" } ?? ""
                    print("  \(marker) \(revision["revision"]?.stringValue ?? "?")  \(revision["activated_at"]?.stringValue ?? "")  \(revision["trigger"]?.stringValue ?? "")\(who)\(why)")
                }
            }
            if let failure = body["last_failure"], failure != .null {
                print("last failed reload: \(failure["at"]?.stringValue ?? "?") by \(failure["trigger"]?.stringValue ?? "?"): \(failure["error"]?.stringValue ?? "")")
            } else {
                print("no failed reload since the last activation")
            }
        }
    }
}
