import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import PolicyEngine

/// `/admin/policies…`: see and change which policy revision serves, for operators (the
/// admin token), never for API clients.
struct AdminRoutes {
    typealias Context = ChittyChargeRequestContext

    let reloader: PolicyReloader
    let registry: any ClusterRegistry
    let instanceID: String?
    /// `ALLOWED_ORIGINS`, which overrides the policy's `cors.allowed_origins` when set.
    var configuredOrigins: [String] = []
    /// An instance not heard from for this long is no longer listed.
    static let liveWithin: TimeInterval = 10

    func register(on group: RouterGroup<Context>) {
        group.get("policies", use: show)
        group.post("policies/reload", use: reload)
        group.post("policies/rollback", use: rollback)
        group.get("policies/revisions/{revision}", use: storedRevision)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let status = reloader.engine.status
        let history: [PolicyRevisionRecord]
        do {
            history = try await reloader.history()
        } catch {
            throw APIError(.serviceUnavailable, "The stored policy revisions could not be read", code: "store_unavailable")
        }
        let instances: [InstanceHeartbeat]
        do {
            instances = try await registry.instances(heartbeatSince: Date().addingTimeInterval(-Self.liveWithin))
        } catch {
            throw APIError(.serviceUnavailable, "The live instances could not be read", code: "store_unavailable")
        }
        let revision = status.active.revision
        let body: JSONValue = [
            // The revision a reload or rollback on any instance last activated: every
            // instance serves it within a second or two, or says why not.
            "cluster_revision": history.first.map { .string($0.id) } ?? .null,
            "instances": .array(instances.map { instance in
                [
                    "id": .string(instance.id),
                    "address": .string(instance.address),
                    "started_at": HoldJSON.timestamp(instance.startedAt),
                    "last_heartbeat": HoldJSON.timestamp(instance.heartbeatAt),
                    "active_revision": .string(instance.activeRevision),
                    "revision_problem": instance.revisionProblem.map(JSONValue.string) ?? .null,
                    "this_instance": .bool(instance.id == instanceID),
                ]
            }),
            "active": .object(Self.activation(status.active).merging([
                "directory": .string(reloader.directory),
                "files": .array(revision.sources.files.map { file in
                    ["path": .string(file.path), "bytes": .integer(Int64(file.contents.count))]
                }),
                "hooks": .object(Dictionary(uniqueKeysWithValues: PolicyHook.allCases.map { hook in
                    (hook.name, revision.definedHooks[hook].map(JSONValue.string) ?? "built-in")
                })),
                // The policy's data as it serves, and which origins the cors hook is handed.
                "settings": .object(revision.sources.settings),
                "allowed_origins": Self.originsInForce(configured: configuredOrigins, revision: revision),
                "untested_hooks": .array(status.active.untestedHooks.map { .string($0.name) }),
            ]) { _, new in new }),
            "last_failure": status.lastFailure.map(Self.failure) ?? .null,
            "revisions": .array(history.map { record in
                [
                    "revision": .string(record.id),
                    "activated_at": HoldJSON.timestamp(record.activatedAt),
                    "trigger": .string(record.trigger),
                    "activated_by": record.activatedBy.map(JSONValue.string) ?? .null,
                    "message": record.message.map(JSONValue.string) ?? .null,
                    "directory": .string(record.directory),
                    "files": .array(record.files.map { .string($0.path) }),
                    "active": .bool(record.id == revision.id),
                ]
            }),
        ]
        return APIError.jsonResponse(HoldJSON.body(body), status: .ok)
    }

    /// A stored revision's files, for `chittycharge policy diff`: text as it is, anything
    /// that is not UTF-8 as base64.
    @Sendable func storedRevision(_ request: Request, context: Context) async throws -> Response {
        guard let id = context.parameters.get("revision"), !id.isEmpty, id.count <= 64 else {
            throw APIError(.notFound, "No stored policy revision with that id", code: "revision_not_found")
        }
        let record: PolicyRevisionRecord?
        do {
            record = try await reloader.storedRevision(id: id)
        } catch {
            throw APIError(.serviceUnavailable, "The stored policy revisions could not be read", code: "store_unavailable")
        }
        guard let record else {
            throw APIError(.notFound, "No stored policy revision '\(id.prefix(64))' (see GET /admin/policies for the stored ones)",
                           code: "revision_not_found")
        }
        let body: JSONValue = [
            "revision": .string(record.id),
            "activated_at": HoldJSON.timestamp(record.activatedAt),
            "trigger": .string(record.trigger),
            "directory": .string(record.directory),
            "files": .array(record.files.map { file in
                if let text = String(data: file.contents, encoding: .utf8) {
                    return ["path": .string(file.path), "text": .string(text)]
                }
                return ["path": .string(file.path), "base64": .string(file.contents.base64EncodedString())]
            }),
        ]
        return APIError.jsonResponse(HoldJSON.body(body), status: .ok)
    }

    static func originsInForce(configured: [String], revision: PolicyRevision) -> JSONValue {
        let inForce = CORSPolicyMiddleware.originsInForce(configured: configured, revision: revision)
        return ["in_force": .array(inForce.origins.map(JSONValue.string)), "source": .string(inForce.source)]
    }

    /// An optional JSON object body with only `allowing` keys; none at all is `[:]`.
    static func optionalBody(_ request: Request, context: Context, allowing: Set<String>, shape: String) async throws -> [String: JSONValue] {
        let data = try await HoldRoutes.jsonBody(request, context: context, required: false)
        guard !data.isEmpty else { return [:] }
        guard let body = try? JSONValue(jsonData: data) else {
            throw APIError(.badRequest, "The request body is not valid JSON", code: "invalid_request")
        }
        guard case .object(let fields) = body, Set(fields.keys).isSubset(of: allowing) else {
            throw APIError(.badRequest, shape, code: "invalid_request")
        }
        return fields
    }

    /// A change's note: `{"message": "…"}` (optional, at most 500 characters), kept with
    /// the activation record beside the admin's name.
    static func message(in fields: [String: JSONValue]) throws -> String? {
        guard let value = fields["message"], value != .null else { return nil }
        guard let text = value.stringValue, !text.isEmpty, text.count <= 500 else {
            throw APIError(.badRequest, "message must be text of 1 to 500 characters", code: "invalid_request",
                           details: ["field": "message"])
        }
        return text
    }

    /// Body (optional): `{"message": "…"}`.
    @Sendable func reload(_ request: Request, context: Context) async throws -> Response {
        let fields = try await Self.optionalBody(request, context: context, allowing: ["message"],
                                                 shape: "The body may only carry a message: {\"message\": \"why\"}")
        let message = try Self.message(in: fields)
        do {
            let activation = try await reloader.reload(trigger: .api, by: context.admin, message: message)
            return APIError.jsonResponse(HoldJSON.body(.object(Self.activation(activation))), status: .ok)
        } catch {
            throw Self.rejected(error, active: reloader.engine.revision.id)
        }
    }

    /// Body (optional): `{"revision": "<id>", "message": "…"}`; without a revision, the one
    /// active before this one.
    @Sendable func rollback(_ request: Request, context: Context) async throws -> Response {
        let fields = try await Self.optionalBody(
            request, context: context, allowing: ["revision", "message"],
            shape: "The body may only name a revision and a message: {\"revision\": \"<id>\", \"message\": \"why\"}")
        let message = try Self.message(in: fields)
        var target: String?
        if let value = fields["revision"] {
            guard let id = value.stringValue, !id.isEmpty, id.count <= 64 else {
                throw APIError(.badRequest, "revision must be a revision id (as GET /admin/policies lists them)", code: "invalid_request")
            }
            target = id
        }
        do {
            let activation = try await reloader.rollback(to: target, by: context.admin, message: message)
            return APIError.jsonResponse(HoldJSON.body(.object(Self.activation(activation))), status: .ok)
        } catch {
            let active = reloader.engine.revision.id
            switch error {
            case .nothingToRollBackTo:
                throw APIError(.conflict, "There is no earlier stored revision to roll back to", code: "no_previous_revision",
                               details: ["active_revision": .string(active)])
            case .unknownRevision(let id):
                throw APIError(.notFound, "No stored policy revision \(id)", code: "revision_not_found",
                               details: ["active_revision": .string(active)])
            case .corrupt(let message):
                throw APIError(.unprocessableContent, message, code: "revision_corrupt", details: ["active_revision": .string(active)])
            case .failed(let loadError):
                throw Self.rejected(loadError, active: active)
            case .store(let message):
                context.logger.error("rollback could not read the stored revisions", metadata: ["error": .string(message)])
                throw APIError(.serviceUnavailable, "The stored policy revisions could not be read", code: "store_unavailable")
            }
        }
    }

    static func activation(_ activation: PolicyActivation) -> [String: JSONValue] {
        [
            "revision": .string(activation.revision.id),
            "previous_revision": activation.previousRevision.map(JSONValue.string) ?? .null,
            "changed": .bool(activation.changed),
            "trigger": .string(activation.trigger.rawValue),
            "loaded_at": HoldJSON.timestamp(activation.at),
            "tests_passed": .integer(Int64(activation.testCount)),
            "duration_ms": .number((activation.durationMilliseconds * 1000).rounded() / 1000),
        ]
    }

    static func failure(_ failure: PolicyReloadFailure) -> JSONValue {
        [
            "at": HoldJSON.timestamp(failure.at),
            "trigger": .string(failure.trigger.rawValue),
            "candidate_revision": failure.candidateRevision.map(JSONValue.string) ?? .null,
            "error": .string(failure.error.message),
            "failed_tests": failedTests(failure.error),
        ]
    }

    static func failedTests(_ error: PolicyLoadError) -> JSONValue {
        .array(error.failedTests.map { ["file": .string($0.file), "name": .string($0.name), "failure": .string($0.failure ?? "")] })
    }

    /// 422 with the candidate's error (file:line first, from Lua) and the active revision,
    /// which keeps serving.
    static func rejected(_ error: PolicyLoadError, active: String) -> APIError {
        APIError(.unprocessableContent, "The policy candidate was rejected; revision \(active) stays active: \(error.message)",
                 code: "policy_invalid",
                 details: ["active_revision": .string(active), "message": .string(error.message), "failed_tests": failedTests(error)])
    }
}
