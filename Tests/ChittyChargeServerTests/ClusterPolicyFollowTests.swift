import Foundation
import HoldStoreSQLite
import PolicyEngine
import Testing
@testable import ChittyCharge

/// An instance sharing its store serves the revision last activated on any instance, and
/// keeps its last good one (saying why) when that revision does not load here.
@Suite struct ClusterPolicyFollowTests {
    private static func revision(from directory: String, activatedAt: Date) throws -> PolicyRevisionRecord {
        let sources = try PolicySourceSet(directory: directory)
        return PolicyRevisionRecord(id: sources.revision, directory: directory,
                                    files: sources.files.map { .init(path: $0.path, contents: Data($0.contents)) },
                                    activatedAt: activatedAt, trigger: "api")
    }

    @Test func anInstanceFollowsTheClustersRevisionAndKeepsItsLastGoodOneWhenThatDoesNotLoad() async throws {
        let store = try await SQLiteHoldStore.open(path: ":memory:", logger: ServerHarness.quietLogger)
        let directory = try ServerHarness.policyDirectory(.init())
        let engine = try PolicyEngine(directory: directory, logger: ServerHarness.quietLogger)
        let reloader = PolicyReloader(engine: engine, directory: directory, store: store, followsCluster: true, logger: ServerHarness.quietLogger)
        await reloader.recordStartup()
        let started = engine.revision.id
        #expect(try await store.policyRevisions(limit: 1).first?.id == started, "the first instance records its folder's revision")

        // Another instance reloads a folder that breaks here (a syntax error stands in for
        // anything this instance cannot load).
        var broken = try Self.revision(from: directory, activatedAt: Date().addingTimeInterval(1))
        broken.files = broken.files.map { file in
            file.path == "policy.lua" ? .init(path: file.path, contents: Data("function hold_limit(req) return {( end".utf8)) : file
        }
        let brokenSources = try? PolicySourceSet(directory: "stored", fileContents: broken.files.map { ($0.path, Array($0.contents)) })
        broken.id = brokenSources?.revision ?? "0123456789ab"
        try await store.recordPolicyActivation(broken, keep: 10)
        await reloader.followCluster()
        #expect(engine.revision.id == started, "the last good revision keeps serving")
        let problem = await reloader.clusterProblem
        #expect(problem?.contains("does not load here") == true && problem?.contains(broken.id) == true, "\(problem ?? "nil")")

        // A good revision activated later is followed, and the problem is gone.
        let url = URL(fileURLWithPath: directory).appendingPathComponent("policy.lua")
        try (String(contentsOf: url, encoding: .utf8) + "\n-- next\n").write(to: url, atomically: true, encoding: .utf8)
        let good = try Self.revision(from: directory, activatedAt: Date().addingTimeInterval(2))
        try await store.recordPolicyActivation(good, keep: 10)
        await reloader.followCluster()
        #expect(engine.revision.id == good.id)
        #expect(await reloader.clusterProblem == nil)
        #expect(engine.status.active.trigger == .cluster)
        try await store.close()
    }
}
