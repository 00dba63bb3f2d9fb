import ArgumentParser
import AsyncHTTPClient
import ChittyChargeServer
import Foundation

/// `chittycharge register`: announces this deployment to ChittyRegistry
/// (`POST $CHITTYREGISTRY_URL/services`, bearer `$CHITTYREGISTRY_TOKEN`), so other Chitty
/// services can find its base URL and health check. Run it once per deployment, or after
/// the public URL changes.
///
/// Exit codes follow sysexits(3), so a deploy script can tell a typo from a registry
/// outage: 64 configuration, 66 unreadable token file, 69 registry unreachable, 77 token
/// refused, 65 record refused (other 4xx), 75 registry failure (5xx, try again later).
struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register this service with ChittyRegistry (POST $CHITTYREGISTRY_URL/services).",
        discussion: """
        The token is read from --token, --token-file, $CHITTYREGISTRY_TOKEN or $CHITTYREGISTRY_TOKEN_FILE, \
        in that order. Prefer the environment or a file: a --token value is visible to other users in ps. \
        The token is never printed.
        Exit codes: 0 registered, 64 missing or invalid setting, 66 token file unreadable, 69 registry \
        unreachable, 77 token refused (401/403), 65 record refused (other 4xx), 75 registry error (5xx).
        """)

    @Option(help: "ChittyRegistry's base URL ($CHITTYREGISTRY_URL).") var registryURL: String?
    @Option(help: "Bearer token for ChittyRegistry ($CHITTYREGISTRY_TOKEN); visible in ps, prefer the environment or --token-file.")
    var token: String?
    @Option(help: "File holding the token ($CHITTYREGISTRY_TOKEN_FILE).") var tokenFile: String?
    @Option(help: "This service's public base URL, http(s) ($CHITTYCHARGE_PUBLIC_URL). Required.") var publicURL: String?
    @Option(help: "Name shown to people.") var displayName = "ChittyCharge"
    @Option(name: .customLong("description"), help: "One sentence on what the service does.")
    var serviceDescription = "Authorization holds on guests' cards through Stripe, with hold limits, CORS, rate limits and schedules written as Lua policies."
    @Option(help: "Registry category.") var category = "payments"
    @Option(name: .customLong("tag"), help: "A tag; repeat for several (replaces the default tags).")
    var tags: [String] = ["payments", "stripe", "authorization-holds", "lua-policies"]
    @Option(help: "Seconds to wait for the registry's answer.") var timeout: Int = 10
    @Flag(help: "Print the JSON that would be sent and send nothing.") var dryRun = false

    /// The record ChittyRegistry stores. `name` is the service's identity there, fixed.
    struct ServiceRecord: Encodable, Equatable {
        static let serviceName = "chittycharge"

        var name = Self.serviceName
        var displayName: String
        var description: String
        var url: String
        var healthEndpoint: String
        var version: String
        var category: String
        var tags: [String]

        enum CodingKeys: String, CodingKey {
            case name, description, url, version, category, tags
            case displayName = "display_name"
            case healthEndpoint = "health_endpoint"
        }
    }

    enum Exit {
        static let configuration = ExitCode(64)
        static let recordRefused = ExitCode(65)
        static let tokenFileUnreadable = ExitCode(66)
        static let unreachable = ExitCode(69)
        static let registryFailed = ExitCode(75)
        static let tokenRefused = ExitCode(77)
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let publicBase = publicBaseURL(publicURL ?? environment["CHITTYCHARGE_PUBLIC_URL"])
        let record = ServiceRecord(
            displayName: displayName, description: serviceDescription, url: publicBase, healthEndpoint: publicBase + "/health",
            version: ServerConfiguration().version, category: category, tags: tags)
        let body = Self.json(record)

        if dryRun {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        guard let registryText = (registryURL ?? environment["CHITTYREGISTRY_URL"]).flatMap({ $0.isEmpty ? nil : $0 }) else {
            fail("no ChittyRegistry URL: set CHITTYREGISTRY_URL or pass --registry-url", exit: Exit.configuration)
        }
        guard let registryBase = Self.httpBaseURL(registryText) else {
            fail("the ChittyRegistry URL must be an http(s) URL such as https://registry.chitty.cc, got '\(registryText)'", exit: Exit.configuration)
        }
        guard timeout > 0 else { fail("--timeout must be at least 1 second", exit: Exit.configuration) }
        let token = resolvedToken(environment)
        let endpoint = registryBase + "/services"

        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "chittycharge/\(record.version)")
        request.body = .bytes(body)

        let status: UInt
        let answer: String
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout)))
            status = response.status.code
            // Enough for any record or error message; a larger answer is not one we can use.
            let bytes = try await response.body.collect(upTo: 1 << 20)
            answer = Self.redacting(token, in: String(decoding: bytes.readableBytesView, as: UTF8.self))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            fail("ChittyRegistry at \(endpoint) did not answer within \(timeout) s (--timeout); nothing is registered", exit: Exit.unreachable)
        } catch {
            fail("could not reach ChittyRegistry at \(endpoint): \(Self.redacting(token, in: String(describing: error)))", exit: Exit.unreachable)
        }

        switch status {
        case 200..<300:
            let id = Self.field("id", in: answer)
            print("registered \(record.name) \(record.version) at \(publicBase) with ChittyRegistry" + (id.map { " as \($0)" } ?? ""))
            if !answer.isEmpty { print(answer) }
        case 401, 403:
            fail("ChittyRegistry refused the token (HTTP \(status)): check CHITTYREGISTRY_TOKEN" + Self.reason(answer), exit: Exit.tokenRefused)
        case 400..<500:
            fail("ChittyRegistry refused the service record (HTTP \(status))" + Self.reason(answer), exit: Exit.recordRefused)
        default:
            fail("ChittyRegistry failed (HTTP \(status)); nothing is registered, try again later" + Self.reason(answer), exit: Exit.registryFailed)
        }
    }

    private func resolvedToken(_ environment: [String: String]) -> String {
        func fromFile(_ path: String) -> String {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                fail("cannot read the ChittyRegistry token file \(path)", exit: Exit.tokenFileUnreadable)
            }
            return contents.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let token: String? = if let token { token }
            else if let tokenFile { fromFile(tokenFile) }
            else if let value = environment["CHITTYREGISTRY_TOKEN"], !value.isEmpty { value }
            else if let path = environment["CHITTYREGISTRY_TOKEN_FILE"], !path.isEmpty { fromFile(path) }
            else { nil }
        guard let token, !token.isEmpty else {
            fail("no ChittyRegistry token: set CHITTYREGISTRY_TOKEN or CHITTYREGISTRY_TOKEN_FILE, or pass --token-file", exit: Exit.configuration)
        }
        // A header value cannot carry line breaks; refuse rather than send half a token.
        guard !token.contains(where: \.isNewline) else {
            fail("the ChittyRegistry token spans several lines; the token file must hold the token alone", exit: Exit.configuration)
        }
        return token
    }

    private func fail(_ message: String, exit code: ExitCode) -> Never {
        printError("chittycharge register: " + message)
        Foundation.exit(code.rawValue)
    }

    private func publicBaseURL(_ text: String?) -> String {
        guard let text, !text.isEmpty else {
            fail("no public URL: set CHITTYCHARGE_PUBLIC_URL or pass --public-url (e.g. https://charge.example.com)", exit: Exit.configuration)
        }
        guard let base = Self.httpBaseURL(text) else {
            fail("the public URL must be an http(s) URL with a host and no query, such as https://charge.example.com, got '\(text)'",
                 exit: Exit.configuration)
        }
        return base
    }

    /// An http(s) URL with a host, no query or fragment, without its trailing slashes, so
    /// paths can be appended.
    static func httpBaseURL(_ text: String) -> String? {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil, components.user == nil, components.password == nil else {
            return nil
        }
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    static func json(_ record: ServiceRecord) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        // Strings and arrays of strings always encode.
        return (try? encoder.encode(record)) ?? Data()
    }

    /// A top-level string (or number) field of a JSON object answer.
    static func field(_ name: String, in answer: String) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any] else { return nil }
        switch object[name] {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// The registry's own explanation: `error` or `message` (also nested as
    /// `{"error": {"message": …}}`), else the start of the body.
    static func reason(_ answer: String) -> String {
        let text = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return "" }
        if let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] {
            for key in ["error", "message", "detail"] {
                if let message = object[key] as? String { return ": " + message }
                if let nested = object[key] as? [String: Any], let message = nested["message"] as? String { return ": " + message }
            }
        }
        return ": " + String(text.prefix(500))
    }

    /// A registry that echoes the request back must not make us print the token.
    static func redacting(_ token: String, in text: String) -> String {
        text.replacingOccurrences(of: token, with: "[redacted]")
    }
}
