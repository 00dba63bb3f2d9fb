import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Runs the built `chittycharge register` against a stand-in ChittyRegistry on a live
/// local port, and checks the exact request and every way it can fail.
@Suite struct RegisterCommandTests {
    static let token = "reg-token-7f3a9c1e5b"
    static let publicURL = "https://charge.example.com"

    /// What the stand-in registry saw.
    struct ReceivedRequest: Sendable {
        var method: String
        var path: String
        /// By lowercased name, as HTTP/1.1 treats names.
        var headers: [String: String]
        var body: Data
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// The requests the stand-in registry received, shared with its handler.
    final class Received: Sendable {
        private let requests = Mutex<[ReceivedRequest]>([])
        func append(_ request: ReceivedRequest) { requests.withLock { $0.append(request) } }
        var all: [ReceivedRequest] { requests.withLock { $0 } }
    }

    /// A registry on a live local port that records each POST and answers `status` with
    /// `body`, once `gate` (if any) finishes.
    @discardableResult
    static func withRegistry<Value: Sendable>(status: HTTPResponse.Status, body: String, answerAfter gate: AsyncStream<Void>? = nil,
                                              _ test: @Sendable (_ baseURL: String, _ received: Received) async throws -> Value) async throws -> Value {
        let received = Received()
        let router = Router()
        router.on("**", method: .post) { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            received.append(ReceivedRequest(method: request.method.rawValue, path: request.uri.path, headers: headers,
                                            body: Data(bytes.readableBytesView)))
            if let gate { for await _ in gate {} }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              logger: Logger(label: "registry") { _ in SwiftLogNoOpLogHandler() })
        return try await app.test(.live) { client in
            try await test("http://127.0.0.1:\(client.port!)", received)
        }
    }

    /// Runs the binary without blocking a concurrency thread (the stand-in registry needs them).
    static func register(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> Run {
        var environment = ProcessInfo.processInfo.environment
        for name in ["CHITTYREGISTRY_URL", "CHITTYREGISTRY_TOKEN", "CHITTYREGISTRY_TOKEN_FILE", "CHITTYCHARGE_PUBLIC_URL"] {
            environment.removeValue(forKey: name)
        }
        environment.merge(extra) { $1 }
        let finished = try await ChildProcess.run(PolicyCLITests.executable, ["register"] + arguments, environment: environment)
        return Run(status: finished.status, stdout: finished.stdout, stderr: finished.stderr)
    }

    /// What `chittycharge --version` prints: the record must carry the same.
    static func version() async throws -> String {
        try await ChildProcess.run(PolicyCLITests.executable, ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func postsTheServiceRecordWithTheBearerToken() async throws {
        let version = try await Self.version()
        try await Self.withRegistry(status: .created, body: #"{"id":"svc_01HXCHARGE","name":"chittycharge","status":"registered"}"#) { base, received in
            let run = try await Self.register(
                ["--public-url", Self.publicURL + "/"],
                environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.stdout.contains("svc_01HXCHARGE"), "\(run.output)")
            #expect(!run.output.contains(Self.token))

            let requests = received.all
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.method == "POST")
            #expect(request.path == "/services")
            #expect(request.headers["authorization"] == "Bearer \(Self.token)")
            #expect(request.headers["content-type"]?.hasPrefix("application/json") == true)
            let body = try Self.json(request.body)
            #expect(Set(body.keys) == ["name", "display_name", "description", "url", "health_endpoint", "version", "category", "tags"])
            #expect(body["name"] as? String == "chittycharge")
            #expect(body["display_name"] as? String == "ChittyCharge")
            #expect((body["description"] as? String)?.isEmpty == false)
            #expect(body["url"] as? String == Self.publicURL)
            #expect(body["health_endpoint"] as? String == Self.publicURL + "/health")
            #expect(body["version"] as? String == version)
            #expect(body["category"] as? String == "payments")
            #expect(body["tags"] as? [String] == ["payments", "stripe", "authorization-holds", "lua-policies"])
        }
    }

    @Test func flagsOverrideTheEnvironmentAndTheTokenMayComeFromAFile() async throws {
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("registry-token-\(UUID())")
        try (Self.token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        try await Self.withRegistry(status: .ok, body: #"{"id":42}"#) { base, received in
            let run = try await Self.register(
                ["--registry-url", base + "/v2/", "--token-file", tokenFile.path, "--public-url", "http://10.0.0.5:8787",
                 "--tag", "holds", "--tag", "stripe", "--category", "finance", "--display-name", "Charge (staging)"],
                environment: ["CHITTYREGISTRY_URL": "http://127.0.0.1:1", "CHITTYCHARGE_PUBLIC_URL": "https://ignored.example.com"])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.stdout.contains("as 42"), "\(run.output)")
            let request = try #require(received.all.first)
            #expect(request.path == "/v2/services")
            #expect(request.headers["authorization"] == "Bearer \(Self.token)")
            let body = try Self.json(request.body)
            #expect(body["url"] as? String == "http://10.0.0.5:8787")
            #expect(body["health_endpoint"] as? String == "http://10.0.0.5:8787/health")
            #expect(body["tags"] as? [String] == ["holds", "stripe"])
            #expect(body["category"] as? String == "finance")
            #expect(body["display_name"] as? String == "Charge (staging)")
            #expect(!run.output.contains(Self.token))
        }
    }

    @Test func dryRunPrintsTheRecordAndSendsNothing() async throws {
        try await Self.withRegistry(status: .created, body: "{}") { base, received in
            let run = try await Self.register(
                ["--dry-run", "--public-url", Self.publicURL],
                environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
            #expect(run.status == 0, "\(run.output)")
            let body = try Self.json(Data(run.stdout.utf8))
            #expect(body["name"] as? String == "chittycharge")
            #expect(body["health_endpoint"] as? String == Self.publicURL + "/health")
            #expect(received.all.isEmpty)
            #expect(!run.output.contains(Self.token))
        }
    }

    @Test(arguments: [
        (["--public-url", RegisterCommandTests.publicURL], ["CHITTYREGISTRY_TOKEN": RegisterCommandTests.token], "CHITTYREGISTRY_URL"),
        (["--public-url", RegisterCommandTests.publicURL, "--registry-url", "ftp://registry.example.com"], ["CHITTYREGISTRY_TOKEN": RegisterCommandTests.token], "http(s) URL"),
        (["--public-url", RegisterCommandTests.publicURL], ["CHITTYREGISTRY_URL": "http://127.0.0.1:1"], "CHITTYREGISTRY_TOKEN"),
        ([], ["CHITTYREGISTRY_URL": "http://127.0.0.1:1", "CHITTYREGISTRY_TOKEN": RegisterCommandTests.token], "CHITTYCHARGE_PUBLIC_URL"),
        (["--public-url", "charge.example.com"], ["CHITTYREGISTRY_URL": "http://127.0.0.1:1", "CHITTYREGISTRY_TOKEN": RegisterCommandTests.token], "must be an http(s) URL"),
        (["--public-url", "https://charge.example.com/?x=1"], ["CHITTYREGISTRY_URL": "http://127.0.0.1:1", "CHITTYREGISTRY_TOKEN": RegisterCommandTests.token], "no query"),
    ])
    func missingOrInvalidSettingsExit64(_ arguments: [String], _ environment: [String: String], _ message: String) async throws {
        let run = try await Self.register(arguments, environment: environment)
        #expect(run.status == 64, "\(run.output)")
        #expect(run.stderr.contains(message), "\(run.output)")
        #expect(!run.output.contains(Self.token))
    }

    @Test func anUnreadableTokenFileExits66WithoutItsContents() async throws {
        let run = try await Self.register(
            ["--public-url", Self.publicURL, "--token-file", "/nonexistent/registry-token"],
            environment: ["CHITTYREGISTRY_URL": "http://127.0.0.1:1"])
        #expect(run.status == 66, "\(run.output)")
        #expect(run.stderr.contains("cannot read the ChittyRegistry token file /nonexistent/registry-token"), "\(run.output)")
    }

    @Test func anUnreachableRegistryExits69() async throws {
        // A port that was just free: nothing listens there, so the connection is refused.
        let base = try await Self.withRegistry(status: .ok, body: "{}") { url, _ in url }
        let run = try await Self.register(
            ["--public-url", Self.publicURL, "--timeout", "1"],
            environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
        #expect(run.status == 69, "\(run.output)")
        #expect(run.stderr.contains("could not reach ChittyRegistry at \(base)/services"), "\(run.output)")
        #expect(!run.output.contains(Self.token))
    }

    @Test func aRegistryThatDoesNotAnswerInTimeExits69() async throws {
        let (gate, open) = AsyncStream<Void>.makeStream()
        try await Self.withRegistry(status: .created, body: "{}", answerAfter: gate) { base, received in
            let run = try await Self.register(
                ["--public-url", Self.publicURL, "--timeout", "1"],
                environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
            open.finish()
            #expect(run.status == 69, "\(run.output)")
            #expect(run.stderr.contains("ChittyRegistry at \(base)/services did not answer within 1 s"), "\(run.output)")
            // Sent once, never retried; on a loaded machine the stand-in may not have read it
            // before the client's 1 s ran out, so "once" is "at most once".
            #expect(received.all.count <= 1)
        }
    }

    @Test(arguments: [HTTPResponse.Status.unauthorized, .forbidden])
    func aRefusedTokenExits77AndIsNeverEchoed(_ status: HTTPResponse.Status) async throws {
        // A registry that quotes the token back must not make us print it.
        try await Self.withRegistry(status: status, body: #"{"error":"token \#(Self.token) is not valid"}"#) { base, _ in
            let run = try await Self.register(
                ["--public-url", Self.publicURL], environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
            #expect(run.status == 77, "\(run.output)")
            #expect(run.stderr.contains("ChittyRegistry refused the token (HTTP \(status.code))"), "\(run.output)")
            #expect(run.stderr.contains("token [redacted] is not valid"), "\(run.output)")
            #expect(!run.output.contains(Self.token))
        }
    }

    @Test func aRefusedRecordExits65WithTheRegistrysMessage() async throws {
        try await Self.withRegistry(status: .unprocessableContent, body: #"{"error":{"message":"category 'payments' is unknown"}}"#) { base, _ in
            let run = try await Self.register(
                ["--public-url", Self.publicURL], environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
            #expect(run.status == 65, "\(run.output)")
            #expect(run.stderr.contains("ChittyRegistry refused the service record (HTTP 422): category 'payments' is unknown"), "\(run.output)")
        }
    }

    @Test func aRegistryFailureExits75() async throws {
        try await Self.withRegistry(status: .badGateway, body: "upstream down") { base, _ in
            let run = try await Self.register(
                ["--public-url", Self.publicURL], environment: ["CHITTYREGISTRY_URL": base, "CHITTYREGISTRY_TOKEN": Self.token])
            #expect(run.status == 75, "\(run.output)")
            #expect(run.stderr.contains("ChittyRegistry failed (HTTP 502); nothing is registered, try again later: upstream down"), "\(run.output)")
        }
    }
}
