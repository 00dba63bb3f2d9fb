import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import PolicyEngine

/// `POST /admin/policies/backtest`: replays the stored decisions through a candidate policy
/// (a folder on the server, or files in the body) and answers which would change. Nothing
/// is activated and nothing is written.
///
/// Body: `{"files": {"policy.lua": "…", …}}`, or `{"dir": "name"}` for a folder under the
/// configured backtest root, and optionally `"since"` (ISO-8601 date or date-time) and
/// `"examples"` (per kind, 0–100, default 5).
///
/// `dir` is confined to `POLICY_BACKTEST_ROOT` (after resolving links) and refused when none
/// is set: a backtest runs the candidate's code, so an admin token must not be a way to read
/// or run whatever folder the server can see, such as a world-writable `/tmp`.
struct PolicyBacktestRoute {
    typealias Context = ChittyChargeRequestContext

    let decisions: any PolicyDecisionLog & CreateOperationRecords & OriginSightingLog
    let policies: PolicyEngine
    /// `ServerConfiguration.backtestRoot`.
    let root: String?
    /// `ALLOWED_ORIGINS`, handed to the candidate's `cors` hook as the server does.
    var configuredOrigins: [String] = []

    static let fields: Set<String> = ["dir", "files", "since", "examples"]

    func register(on group: RouterGroup<Context>) {
        group.post("policies/backtest", use: backtest)
    }

    struct Parameters {
        var sources: PolicySourceSet
        var since: Date?
        var examples: Int
    }

    @Sendable func backtest(_ request: Request, context: Context) async throws -> Response {
        let body = try await HoldRoutes.jsonBody(request, context: context, required: true)
        let parameters = try Self.parameters(body, root: root)
        let candidate: PolicyRevision
        do {
            candidate = try PolicyBacktest.loadCandidate(parameters.sources, limits: policies.limits)
        } catch {
            throw Self.invalidCandidate(error)
        }
        // One core is left to the API: a long backtest must not stall holds being placed.
        let backtest = PolicyBacktest(
            store: decisions, operations: decisions, origins: decisions,
            allowedOriginsOverride: configuredOrigins.isEmpty ? nil : configuredOrigins, candidate: candidate, since: parameters.since, examplesPerKind: parameters.examples,
            concurrency: max(1, ProcessInfo.processInfo.activeProcessorCount - 1))
        let summary: PolicyBacktest.Summary
        do {
            summary = try await backtest.run()
        } catch let error as CancellationError {
            throw error
        } catch {
            context.logger.error("policy backtest could not read the stored decisions", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "The stored policy decisions could not be read", code: "store_unavailable")
        }
        context.logger.info("policy backtest", metadata: [
            "policy.candidate": .string(candidate.id), "policy.revision": .string(policies.revision.id),
            "backtest.replayed": "\(summary.replayed)",
            "backtest.changed": "\(summary.hooks.values.map(\.changed).reduce(0, +))",
            "backtest.elapsed_ms": "\(Int((summary.elapsedSeconds * 1000).rounded()))",
        ])
        return APIError.jsonResponse(HoldJSON.body(summary.json), status: .ok)
    }

    /// 400 for a body that is not what the route takes; 422 (from `PolicySourceSet`) for a
    /// folder that is missing or files with names that cannot be modules.
    static func parameters(_ body: Data, root: String?) throws -> Parameters {
        guard let value = try? JSONValue(jsonData: body), case .object(let fields) = value else {
            throw invalid("The request body must be a JSON object such as {\"files\": {\"policy.lua\": \"…\"}}")
        }
        if let unknown = fields.keys.filter({ !Self.fields.contains($0) }).sorted().first {
            throw invalid("Unknown field '\(unknown)'; the body takes dir or files, and optionally since and examples", field: unknown)
        }
        var since: Date?
        if let raw = fields["since"], raw != .null {
            guard let text = raw.stringValue, let date = PolicyBacktest.date(from: text) else {
                throw invalid("since must be \(PolicyBacktest.acceptedDateFormats)", field: "since")
            }
            since = date
        }
        var examples = 5
        if let raw = fields["examples"], raw != .null {
            guard let number = raw.integerValue, (0...100).contains(number) else {
                throw invalid("examples must be a whole number from 0 to 100", field: "examples")
            }
            examples = Int(number)
        }
        // The candidate last: everything a 400 can say is said before a folder is read.
        let sources: PolicySourceSet
        switch (fields["dir"], fields["files"]) {
        case (let dir?, nil):
            guard let name = dir.stringValue, !name.isEmpty else { throw invalid("dir must name a policy folder under the backtest root", field: "dir") }
            let path = try confined(name, root: root)
            do {
                sources = try PolicySourceSet(directory: path)
            } catch {
                throw invalidCandidate(error)
            }
        case (nil, let files?):
            guard let object = files.objectValue, !object.isEmpty else {
                throw invalid("files must be an object of file name to Lua source, such as {\"policy.lua\": \"…\"}", field: "files")
            }
            var texts: [String: String] = [:]
            for (path, text) in object {
                guard let text = text.stringValue else { throw invalid("files[\"\(path)\"] must be the file's text", field: "files") }
                texts[path] = text
            }
            do {
                sources = try PolicySourceSet(directory: "<request>", files: texts)
            } catch {
                throw invalidCandidate(error)
            }
        default:
            throw invalid("Give the candidate as exactly one of dir (a folder under the backtest root) or files (the sources)")
        }
        return Parameters(sources: sources, since: since, examples: examples)
    }

    /// The folder `name` inside `root`, links resolved, or a 400: absolute paths, `..`, and
    /// links that lead outside the root are all refused the same way.
    static func confined(_ name: String, root: String?) throws -> String {
        guard let root else {
            throw APIError(.badRequest, "Candidates given as dir are disabled on this server; send the sources as files, or set POLICY_BACKTEST_ROOT",
                           code: "backtest_dir_not_allowed", details: ["field": "dir"])
        }
        let resolvedRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().standardizedFileURL.path
        let candidate = URL(fileURLWithPath: name, relativeTo: URL(fileURLWithPath: resolvedRoot, isDirectory: true))
            .resolvingSymlinksInPath().standardizedFileURL.path
        guard !name.hasPrefix("/"), candidate.hasPrefix(resolvedRoot + "/") else {
            throw APIError(.badRequest, "dir must name a folder inside the backtest root (POLICY_BACKTEST_ROOT), such as \"next\"",
                           code: "backtest_dir_not_allowed", details: ["field": "dir"])
        }
        return candidate
    }

    static func invalid(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, message, code: "invalid_request", details: field.map { ["field": .string($0)] })
    }

    /// 422 with the candidate's error, `file:line` first when Lua knows it.
    static func invalidCandidate(_ error: PolicyLoadError) -> APIError {
        APIError(.unprocessableContent, "The policy candidate does not load: \(error.message)", code: "policy_invalid",
                 details: ["message": .string(error.message)])
    }
}
