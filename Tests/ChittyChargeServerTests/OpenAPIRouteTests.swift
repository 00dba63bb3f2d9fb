import ChittyCharge
import ChittyChargeServer
import ChittyChargeWiring
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PolicyEngine
import Testing
import Yams

/// `openapi.yaml` describes the API the router actually serves: the same (method, path)
/// pairs, and a document whose references resolve.
@Suite struct OpenAPIRouteTests {
    static let documentURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("openapi.yaml")
    static let operationMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    struct Route: Hashable, Comparable, CustomStringConvertible {
        var method: String
        var path: String
        var description: String { "\(method) \(path)" }
        static func < (lhs: Route, rhs: Route) -> Bool { (lhs.path, lhs.method) < (rhs.path, rhs.method) }
    }

    static func document() throws -> [String: Any] {
        let text = try String(contentsOf: documentURL, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "openapi.yaml is not a YAML mapping")
    }

    static func documentedRoutes(_ document: [String: Any]) throws -> Set<Route> {
        let paths = try #require(document["paths"] as? [String: Any], "openapi.yaml has no paths")
        var routes: Set<Route> = []
        for (path, item) in paths {
            let operations = try #require(item as? [String: Any], "paths.\(path) is not a mapping")
            for method in operations.keys where operationMethods.contains(method) {
                routes.insert(Route(method: method.uppercased(), path: path))
            }
        }
        return routes
    }

    /// The real router, with everything that registers routes switched on (admin routes
    /// need a reloader), and a way to ask it questions without a socket.
    static func withRouter(_ body: @Sendable (_ routes: [Route], _ client: any TestClientProtocol) async throws -> Void) async throws {
        let quiet = Logger(label: "openapi-test") { _ in SwiftLogNoOpLogHandler() }
        let policyDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("policies").path
        let databasePath = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).sqlite").path
        let policies = try PolicyEngine(directory: policyDirectory, logger: quiet)
        var authenticator = ClientAuthenticator()
        authenticator.addSharedToken("openapi-test-token")
        let system = try await ChittyChargeSystem.build(
            .init(databasePath: databasePath, policyDirectory: policyDirectory, stripe: .notConfigured, chittyID: .emulator(),
                  server: ServerConfiguration(port: 0), authenticator: authenticator, adminToken: "openapi-test-admin-token"),
            policies: policies, loggers: .init(all: quiet), metrics: .chittyCharge())
        do {
            let router = buildRouter(system.dependencies)
            let routes = router.routes.filter { $0.method != .options }
                .map { Route(method: $0.method.rawValue, path: $0.path.description) }
            let app = Application(router: router, logger: quiet)
            try await app.test(.router) { client in try await body(routes, client) }
        } catch {
            try? await system.close()
            throw error
        }
        try await system.close()
    }

    @Test func documentAndRouterHaveTheSameRoutes() async throws {
        let documented = try Self.documentedRoutes(try Self.document())
        try await Self.withRouter { routes, _ in
            let served = Set(routes)
            let undocumented = served.subtracting(documented).sorted()
            let notServed = documented.subtracting(served).sorted()
            #expect(undocumented.isEmpty, "openapi.yaml lacks routes the router serves: \(undocumented.map(\.description).joined(separator: ", "))")
            #expect(notServed.isEmpty, "openapi.yaml documents routes the router does not serve: \(notServed.map(\.description).joined(separator: ", "))")
        }
    }

    /// API.md: a known path with another method is 405 with `Allow`, not 404 — whatever
    /// the method, extension methods such as QUERY included.
    @Test func everyDocumentedPathAnswers405ToItsOtherMethods() async throws {
        let documented = try Self.documentedRoutes(try Self.document())
        try await Self.withRouter { _, client in
            var missing: [String] = []
            for path in Set(documented.map(\.path)).sorted() {
                let methods = Set(documented.filter { $0.path == path }.map(\.method))
                let uri = path.replacingOccurrences(of: "{id}", with: "pi_openapiProbe")
                    .replacingOccurrences(of: "{chitty_id}", with: "CHITTY-AUTH-PROBE")
                let allow = (methods.sorted { ["GET", "POST"].firstIndex(of: $0)! < ["GET", "POST"].firstIndex(of: $1)! } + ["OPTIONS"]).joined(separator: ", ")
                for name in ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "QUERY"] where !methods.contains(name) {
                    let method = try #require(HTTPRequest.Method(name))
                    let answered = try await client.execute(uri: uri, method: method) { response in
                        let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                        return response.status == .methodNotAllowed && body?["code"] as? String == "method_not_allowed"
                            && response.headers[.allow] == allow
                    }
                    if !answered { missing.append("\(name) \(path)") }
                }
            }
            #expect(missing.isEmpty, "no 405 with Allow for: \(missing.joined(separator: ", ")) (add the path to KnownRoutes)")
        }
    }

    @Test func everyOperationHasResponsesAndEveryReferenceResolves() throws {
        let document = try Self.document()
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let paths = try #require(document["paths"] as? [String: Any])
        var problems: [String] = []
        for (path, item) in paths {
            guard let operations = item as? [String: Any] else { continue }
            for (method, value) in operations where Self.operationMethods.contains(method) {
                guard let operation = value as? [String: Any],
                      let responses = operation["responses"] as? [String: Any], !responses.isEmpty else {
                    problems.append("\(method.uppercased()) \(path) has no responses")
                    continue
                }
                if operation["operationId"] == nil { problems.append("\(method.uppercased()) \(path) has no operationId") }
                // Every {name} in the path is declared as a path parameter (here or by $ref).
                let declared = Set(((operation["parameters"] as? [Any]) ?? []).compactMap { parameter -> String? in
                    let resolved = (parameter as? [String: Any]).flatMap { object in
                        (object["$ref"] as? String).flatMap { Self.resolve($0, in: document) as? [String: Any] } ?? object
                    }
                    return resolved?["in"] as? String == "path" ? resolved?["name"] as? String : nil
                })
                for name in Self.pathParameters(path) where !declared.contains(name) {
                    problems.append("\(method.uppercased()) \(path) does not declare path parameter \(name)")
                }
            }
        }
        Self.collectReferences(document, at: "#") { reference, location in
            if Self.resolve(reference, in: document) == nil { problems.append("\(location): $ref \(reference) does not resolve") }
        }
        #expect(problems.isEmpty, "\(problems.sorted().joined(separator: "\n"))")
    }

    static func pathParameters(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.map { String($0.dropFirst().dropLast()) }
    }

    static func collectReferences(_ value: Any, at location: String, _ found: (String, String) -> Void) {
        if let object = value as? [String: Any] {
            for (key, child) in object {
                if key == "$ref", let reference = child as? String { found(reference, location) }
                collectReferences(child, at: location + "/" + key, found)
            }
        } else if let array = value as? [Any] {
            for (index, child) in array.enumerated() { collectReferences(child, at: location + "/\(index)", found) }
        }
    }

    /// A local JSON pointer (`#/components/schemas/Hold`), or nil.
    static func resolve(_ reference: String, in document: [String: Any]) -> Any? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: Any = document
        for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let object = node as? [String: Any], let next = object[key] else { return nil }
            node = next
        }
        return node
    }
}
