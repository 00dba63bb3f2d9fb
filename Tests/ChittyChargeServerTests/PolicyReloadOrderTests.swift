import Foundation
import Testing
@testable import ChittyCharge
import PolicyEngine

/// `PolicyReloader` runs reloads and rollbacks one at a time, across the await of the
/// store write: an actor alone lets the next one in there.
@Suite struct PolicyReloadOrderTests {
    struct Setup {
        let directory: String
        let engine: PolicyEngine
        let store = HeldRevisionStore()
        let reloader: PolicyReloader

        init() throws {
            directory = try ServerHarness.policyDirectory(.init())
            engine = try PolicyEngine(directory: directory, logger: ServerHarness.quietLogger)
            reloader = PolicyReloader(engine: engine, directory: directory, store: store, logger: ServerHarness.quietLogger)
        }

        func setGuestLimit(_ cents: Int) throws {
            let url = URL(fileURLWithPath: directory).appendingPathComponent("settings.json")
            try AdminPolicyTests.newGuestLimit(cents)(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
        }

        /// Lets the call made after a held one get as far as it can: into the store (no
        /// gate), or into the reloader's queue (the gate). `writes` were begun before it.
        func waitForNextCall(after writes: Int) async {
            while reloader.waiting == 0 && store.writesStarted == writes { await Task.yield() }
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func aReloadWaitsWhileTheOneBeforeItIsBeingRecorded() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        try setup.setGuestLimit(240_000)
        let held = setup.store.holdNextWrite()
        let first = Task { try await setup.reloader.reload(trigger: .api) }
        await held.arrived.wait()
        let firstRevision = setup.engine.revision.id
        try setup.setGuestLimit(230_000)
        let second = Task { try await setup.reloader.reload(trigger: .signal) }
        await setup.waitForNextCall(after: 1)
        #expect(setup.store.writesStarted == 1, "the second reload reached the store while the first was being recorded")
        #expect(setup.engine.revision.id == firstRevision, "the second reload activated its revision before the first was recorded")

        held.release.open()
        let firstActivation = try await first.value
        let secondActivation = try await second.value
        #expect(firstActivation.revision.id == firstRevision)
        #expect(secondActivation.revision.id != firstRevision)
        #expect(setup.store.recorded == [firstActivation.revision.id, secondActivation.revision.id])
        #expect(setup.engine.revision.id == secondActivation.revision.id)
    }

    @Test func aReloadAskedDuringARollbackIsRecordedAfterIt() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        await setup.reloader.recordStartup()
        let startup = setup.engine.revision.id
        try setup.setGuestLimit(240_000)
        try await setup.reloader.reload(trigger: .api)

        let held = setup.store.holdNextWrite()
        let rollback = Task { try await setup.reloader.rollback() }
        await held.arrived.wait()
        let writes = setup.store.writesStarted
        #expect(setup.engine.revision.id == startup)
        try setup.setGuestLimit(230_000)
        let reload = Task { try await setup.reloader.reload(trigger: .api) }
        await setup.waitForNextCall(after: writes)
        #expect(setup.store.writesStarted == writes, "the reload reached the store while the rollback was being recorded")

        held.release.open()
        #expect(try await rollback.value.revision.id == startup)
        let reloaded = try await reload.value.revision.id
        // The newest stored revision is the active one, so the next rollback leaves it.
        #expect(setup.engine.revision.id == reloaded)
        #expect(try await setup.reloader.history(limit: 1).map(\.id) == [reloaded])
    }
}
