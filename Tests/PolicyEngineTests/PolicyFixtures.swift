import Foundation
import JSON
import Logging
@testable import PolicyEngine

/// A policy set in memory: `policy.lua` plus optional modules.
func makeSources(_ entry: String, modules: [String: String] = [:]) throws -> PolicySourceSet {
    var files = modules
    files["policy.lua"] = entry
    return try PolicySourceSet(files: files)
}

func makeRevision(_ entry: String, modules: [String: String] = [:], limits: PolicyLimits = .default) throws -> PolicyRevision {
    try PolicyRevision(sources: makeSources(entry, modules: modules), limits: limits, logger: quietLogger)
}

/// The error a policy set fails to load with, or nil when it loads.
func loadError(_ entry: String, modules: [String: String] = [:], limits: PolicyLimits = .default) -> PolicyLoadError? {
    do {
        _ = try makeRevision(entry, modules: modules, limits: limits)
        return nil
    } catch let error as PolicyLoadError {
        return error
    } catch {
        return PolicyLoadError("unexpected \(error)")
    }
}

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// The repository's default policy folder.
let defaultPolicyDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("policies").path

/// A hold_limit that behaves unless the request's client names a misbehaviour, so the
/// smoke test passes and each test triggers its failure on demand.
func hostileHoldLimit(_ misbehaviour: String) -> String {
    """
    function hold_limit(req)
      if req.client == "evil" then
        \(misbehaviour)
      end
      return { allow = true, max_amount = 1000, tier = "GOOD" }
    end
    """
}

let evilRequest = HoldLimitHook.Input(amount: 100, client: "evil")
let goodRequest = HoldLimitHook.Input(amount: 100, client: "good")

/// Evaluates hold_limit on a JSON input and returns the decision table the policy built in
/// `details` (policies below echo what they see through it).
func details(_ revision: PolicyRevision, _ input: HoldLimitHook.Input) -> [String: JSONValue]? {
    revision.holdLimit(input).decision.details
}
