import ChittyChargeTestSupport
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Several `chittycharge serve` processes on one PostgreSQL database, against one
/// standalone Stripe emulator (`chittycharge stripe-emulator`), as an operator runs them
/// behind a load balancer.
struct InstanceCluster: Sendable {
    static let clientToken = "cluster-client-token"
    static let adminToken = "cluster-admin-token"
    static let stripeKey = "sk_test_cluster"
    static let webhookSecret = "whsec_cluster_test"

    let emulator: ChildProcess.Running
    let emulatorLog: URL
    let emulatorPort: Int
    let databaseURL: String
    let policyDirectory: URL
    var instances: [ServedProcess]

    /// Starts the emulator and `count` instances on `databaseURL` (a fresh database each
    /// test), with a copy of the shipped policies each instance reads, its client limited
    /// to `rateLimit` requests a minute.
    static func start(count: Int, databaseURL: String, rateLimit: Int = 1_000, environment: [String: String] = [:]) async throws -> InstanceCluster {
        let emulatorPort = try freePort()
        let emulatorLog = FileManager.default.temporaryDirectory.appendingPathComponent("emulator-\(UUID()).log")
        let emulator = try await ChildProcess.Running.start(
            PolicyCLITests.executable, ["stripe-emulator", "--port", String(emulatorPort)],
            environment: ProcessInfo.processInfo.environment, logFile: emulatorLog)
        let policies = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-policies-\(UUID())")
        try FileManager.default.copyItem(atPath: PolicyCLITests.policies, toPath: policies.path)
        let policy = policies.appendingPathComponent("policy.lua")
        let shipped = try String(contentsOf: policy, encoding: .utf8)
        guard shipped.contains("local RATE_LIMIT          = 10\n") else { throw ClusterFailure("policy.lua no longer sets RATE_LIMIT = 10") }
        try shipped.replacingOccurrences(of: "local RATE_LIMIT          = 10\n", with: "local RATE_LIMIT          = \(rateLimit)\n")
            .write(to: policy, atomically: true, encoding: .utf8)
        // The folder's own tests pin the limit, and a folder whose tests fail does not load.
        let tests = policies.appendingPathComponent("tests/default.json")
        try String(contentsOf: tests, encoding: .utf8).replacingOccurrences(of: "\"limit\": 10,", with: "\"limit\": \(rateLimit),")
            .write(to: tests, atomically: true, encoding: .utf8)
        var cluster = InstanceCluster(emulator: emulator, emulatorLog: emulatorLog, emulatorPort: emulatorPort,
                                      databaseURL: databaseURL, policyDirectory: policies, instances: [])
        for _ in 0..<count {
            try await cluster.addInstance(environment: environment)
        }
        return cluster
    }

    var emulatorBase: String { "http://127.0.0.1:\(emulatorPort)" }

    /// One more `serve` on the same database, once it answers `/health`.
    mutating func addInstance(environment: [String: String] = [:]) async throws {
        let port = try freePort()
        let server = try await ServedProcess.start(
            port: port, policyDirectory: policyDirectory.path, stripe: nil,
            arguments: ["--database-url", databaseURL],
            environment: [
                "CHITTY_ID_TOKEN": Self.clientToken, "ADMIN_TOKEN": Self.adminToken,
                "STRIPE_SECRET_KEY": Self.stripeKey, "STRIPE_API_BASE": emulatorBase,
                "STRIPE_WEBHOOK_SECRET": Self.webhookSecret,
            ].merging(environment) { _, new in new })
        guard try await server.waitUntilHealthy() != nil else {
            let (_, log) = await server.stop()
            throw ClusterFailure("instance on port \(port) did not answer /health:\n\(log)")
        }
        instances.append(server)
    }

    func stop() async -> [String] {
        var logs: [String] = []
        for instance in instances { logs.append(await instance.stop().log) }
        emulator.send(SIGTERM)
        _ = try? await emulator.waitForExit()
        try? FileManager.default.removeItem(at: emulatorLog)
        try? FileManager.default.removeItem(at: policyDirectory)
        return logs
    }

    // MARK: HTTP

    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var data: Data
        var body: [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }
        var string: String { String(decoding: data, as: UTF8.self) }
        var code: String? { body["code"] as? String }
    }

    static func call(_ method: String, _ url: String, headers: [String: String] = [:], json: Any? = nil, form: String? = nil,
                     raw: Data? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let raw {
            request.httpBody = raw
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let form {
            request.httpBody = Data(form.utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return Answer(status: http.statusCode, headers: fields, data: data)
    }

    /// A request to instance `index` as the API client.
    func api(_ index: Int, _ method: String, _ path: String, json: Any? = nil, headers: [String: String] = [:]) async throws -> Answer {
        try await Self.call(method, instances[index].baseURL + path,
                            headers: ["ChittyID-Token": Self.clientToken].merging(headers) { _, new in new }, json: json)
    }

    func admin(_ index: Int, _ method: String, _ path: String, json: Any? = nil) async throws -> Answer {
        try await Self.call(method, instances[index].baseURL + path, headers: ["Authorization": "Bearer \(Self.adminToken)"], json: json)
    }

    /// The guest authorises the hold, as Stripe.js would.
    func confirmAtStripe(_ holdID: String) async throws {
        let answer = try await Self.call("POST", "\(emulatorBase)/v1/payment_intents/\(holdID)/confirm",
                                         headers: ["Authorization": "Bearer \(Self.stripeKey)"], form: "payment_method=pm_card_visa")
        guard answer.status == 200 else { throw ClusterFailure("confirm \(holdID): \(answer.status) \(answer.string)") }
    }

    /// The requests that reached Stripe (answered or refused, but not idempotent replays)
    /// with `method` on paths ending in `suffix`.
    func executedStripeCalls(_ method: String, pathSuffix suffix: String) async throws -> [[String: Any]] {
        let answer = try await Self.call("GET", "\(emulatorBase)/_emulator/calls")
        let calls = answer.body["calls"] as? [[String: Any]] ?? []
        return calls.filter { call in
            call["method"] as? String == method && (call["path"] as? String)?.hasSuffix(suffix) == true
                && call["replayed"] as? Bool == false
        }
    }

    /// Stripe's event for the intent as the emulator has it now, signed as Stripe signs
    /// webhooks (`Stripe-Signature: t=…,v1=HMAC-SHA256("t.payload")`).
    func signedEvent(_ id: String, type: String, intent holdID: String) async throws -> (body: Data, signature: String) {
        let intent = try await Self.call("GET", "\(emulatorBase)/v1/payment_intents/\(holdID)", headers: ["Authorization": "Bearer \(Self.stripeKey)"])
        let created = Int(Date().timeIntervalSince1970)
        let body = Data(#"{"id":"\#(id)","object":"event","type":"\#(type)","created":\#(created),"livemode":false,"data":{"object":"#.utf8)
            + intent.data + Data("}}".utf8)
        let signed = Data("\(created).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(Self.webhookSecret.utf8)))
        return (body, "t=\(created),v1=" + mac.map { String(format: "%02x", $0) }.joined())
    }

    /// Places a hold through instance `index`; fails the test on anything but 201.
    func placeHold(on index: Int, key: String = UUID().uuidString, amount: Int = 20_000) async throws -> String {
        let answer = try await api(index, "POST", "/api/holds", json: ["amount": amount, "description": "Security deposit", "property_id": "prop_1"],
                                   headers: ["Idempotency-Key": key])
        guard answer.status == 201, let id = answer.body["id"] as? String else {
            throw ClusterFailure("placing a hold on instance \(index): \(answer.status) \(answer.string)")
        }
        return id
    }
}

struct ClusterFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A loopback port nobody listens on now (the kernel's pick for port 0).
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ClusterFailure("socket: \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
        }
    }
    guard bound else { throw ClusterFailure("bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
