import Foundation
import Synchronization
import Testing
@testable import PolicyEngine

/// Runs `body` on a thread of its own and waits at most `seconds` for it. A policy call that
/// escapes its limits spins in C where nothing can interrupt it, so without this bound the
/// test would hang instead of failing (the stuck thread is left behind until the process ends).
/// The wait suspends rather than blocks: a blocked waiter would hold one of Swift
/// concurrency's few cooperative threads, which the server tests running alongside need.
func withinBound<T: Sendable>(seconds: Double = 10, _ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error>? {
    let answered = AnsweredOnce()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>?, Never>) in
        let finish: @Sendable (Result<T, any Error>?) -> Void = { value in
            if answered.claim() { continuation.resume(returning: value) }
        }
        let thread = Thread { finish(Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { finish(nil) }
    }
}

/// The first of the finished thread and the timer resumes the waiter; the other does nothing.
private final class AnsweredOnce: Sendable {
    private let answered = Atomic<Bool>(false)
    func claim() -> Bool { answered.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
}

/// Escapes from the instruction budget and the time limit (POLICY.md "Sandbox"): each call
/// ends with a limit error well within a generous bound, fails closed, and the revision keeps
/// answering good calls afterwards.
@Suite struct PolicyLimitTests {
    static let limitKinds: Set<PolicyEvaluationError.Kind> = [.instructionBudget, .timeLimit, .allocationBudget, .memory]

    struct Observed: Sendable {
        var kinds: [PolicyEvaluationError.Kind?] = []
        var messages: [String] = []
        var slowest: Duration = .zero
        var goodCallsWorked = true
    }

    func expectStopped(
        _ misbehaviour: String, kinds: Set<PolicyEvaluationError.Kind> = limitKinds, containing text: String = "",
        limits: PolicyLimits = .default, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let outcome = await withinBound {
            let revision = try makeRevision(hostileHoldLimit(misbehaviour), limits: limits)
            var observed = Observed()
            for _ in 0..<2 {
                let started = ContinuousClock.now
                let bad = revision.holdLimit(evilRequest)
                observed.slowest = max(observed.slowest, ContinuousClock.now - started)
                observed.kinds.append(bad.source == .failClosed && bad.decision.allow == false ? bad.error?.kind : nil)
                observed.messages.append(bad.error?.message ?? "no error")
                let good = revision.holdLimit(goodRequest)
                observed.goodCallsWorked = observed.goodCallsWorked && good.error == nil && good.decision.maxAmount == 1000
            }
            return observed
        }
        guard let outcome else {
            Issue.record("the policy call did not end within 10 s", sourceLocation: sourceLocation)
            return
        }
        guard case .success(let observed) = outcome else {
            Issue.record("the policy did not load: \(outcome)", sourceLocation: sourceLocation)
            return
        }
        for (kind, message) in zip(observed.kinds, observed.messages) {
            #expect(kind.map { kinds.contains($0) } == true, "\(String(describing: kind)): \(message)", sourceLocation: sourceLocation)
            #expect(text.isEmpty || message.contains(text), "\(message)", sourceLocation: sourceLocation)
        }
        #expect(observed.slowest < .seconds(2), "slowest bad call: \(observed.slowest)", sourceLocation: sourceLocation)
        #expect(observed.goodCallsWorked, sourceLocation: sourceLocation)
    }

    // MARK: Code Lua runs on the policy's behalf

    @Test func xpcallHandlerThatLoopsIsStopped() async {
        await expectStopped("xpcall(function() error('boom') end, function(e) while true do end end)")
    }

    @Test func xpcallHandlerThatLoopsAfterTheBudgetRanOutIsStopped() async {
        await expectStopped("xpcall(function() while true do end end, function(e) while true do end end)")
    }

    @Test func xpcallHandlerThatCatchesItsOwnErrorsAndLoopsIsStopped() async {
        await expectStopped("""
            xpcall(function() error('boom') end, function(e)
              pcall(function() while true do end end)
              while true do end
            end)
            """)
    }

    @Test func coroutineInsideAnXpcallHandlerIsStopped() async {
        await expectStopped("""
            xpcall(function() error('boom') end, function(e)
              coroutine.wrap(function() while true do end end)()
              while true do end
            end)
            """)
    }

    @Test func closeMethodOfAWrappedCoroutineStoppedByTheBudgetDoesNotRun() async {
        await expectStopped("""
            coroutine.wrap(function()
              local guard <close> = setmetatable({}, { __close = function() while true do end end })
              while true do end
            end)()
            """)
    }

    @Test func closeMethodRunByCoroutineCloseAfterTheBudgetRanOutDoesNotRun() async {
        await expectStopped("""
            local co = coroutine.create(function()
              local guard <close> = setmetatable({}, { __close = function() while true do end end })
              while true do end
            end)
            coroutine.resume(co)
            coroutine.close(co)
            """)
    }

    @Test func closeMethodThatLoopsOnAnOrdinaryExitIsStopped() async {
        await expectStopped("""
            do
              local guard <close> = setmetatable({}, { __close = function() while true do end end })
            end
            """)
    }

    @Test func xpcallStillCallsItsHandlerForOrdinaryErrors() async throws {
        let revision = try makeRevision("""
            function hold_limit(req)
              local ok, handled = xpcall(function(a, b) error(a .. b, 0) end, function(e) return "handled " .. e end, "x", "y")
              local ok2, value, other = xpcall(function(a) return a, 2 end, print, 1)
              return { allow = true, max_amount = 1, tier = "T",
                       details = { ok = ok, handled = handled, ok2 = ok2, value = value, other = other } }
            end
            """)
        let seen = details(revision, goodRequest)
        #expect(seen?["ok"] == false)
        #expect(seen?["handled"] == "handled xy")
        #expect(seen?["ok2"] == true && seen?["value"] == 1 && seen?["other"] == 2)
    }

    @Test func loadTimeXpcallHandlerLoopStopsTheLoad() async {
        let outcome = await withinBound {
            loadError("xpcall(function() while true do end end, function(e) while true do end end)\n" + hostileHoldLimit(""))
        }
        guard case .success(let error)? = outcome else {
            Issue.record("loading did not end within 10 s")
            return
        }
        #expect(error?.message.contains("while loading the policy") == true, "\(String(describing: error))")
    }

    // MARK: Work inside C library functions

    @Test func stringRepStormIsStopped() async {
        // 2,000 × 4 MB took 58 s: one string may take at most 1 MB (a sixteenth of the memory cap).
        await expectStopped("for i = 1, 2000 do local s = string.rep('x', 4e6) end", kinds: [.memory], containing: "more than 1048576 bytes")
        // Within the size of one string, the time limit or the allocation budget stops it.
        await expectStopped("for i = 1, 2000 do local s = string.rep('x', 5e5) end", kinds: [.allocationBudget, .timeLimit])
    }

    @Test func allocationBudgetStopsACallThatKeepsBuildingStrings() async {
        // Copies of a long unit are fast: it is the 64 MB budget, not the clock, that ends this
        // (the clock is given room so a loaded machine cannot end it first).
        var limits = PolicyLimits.default
        limits.timeLimit = .seconds(5)
        await expectStopped(
            "local unit = string.rep('x', 1000) for i = 1, 2000 do local s = string.rep(unit, 500) end",
            kinds: [.allocationBudget], containing: "policy.lua:3: allocation budget of 67108864 bytes per call exceeded", limits: limits)
    }

    @Test func balancedPatternOnALongSubjectIsRefused() async {
        await expectStopped("local s = string.rep('(', 1e5):find('%b()')", kinds: [.runtime], containing: "too costly")
    }

    @Test func repeatedLazyPatternsRunIntoTheTimeLimit() async {
        // Each find is within the pattern guard's bound; together they ran for minutes.
        await expectStopped("local s = string.rep('a', 3000) for i = 1, 1e9 do s:find('a.-b') end", kinds: [.timeLimit], containing: "time limit of 50 ms")
    }

    @Test func gmatchIteratorsAreBoundedStepByStep() async {
        await expectStopped(
            "local s = string.rep('a', 3000) .. ' ' for i = 1, 1e9 do for w in s:gmatch('a.-b') do end end",
            kinds: [.timeLimit], containing: "time limit")
    }

    @Test func tableConcatGrowthIsStopped() async {
        await expectStopped(
            "local t = {} for i = 1, 50 do t[i] = string.rep('x', 1e4) end for i = 1, 1e9 do local s = table.concat(t) end",
            kinds: [.allocationBudget, .timeLimit])
    }

    @Test func concatenationGrowthIsStopped() async {
        await expectStopped("local s = string.rep('x', 5e5) for i = 1, 1e9 do local t = s .. s end", kinds: [.allocationBudget, .timeLimit])
    }

    @Test func configuredTimeLimitStopsALoopTheBudgetWouldAllow() async {
        let limits = PolicyLimits(instructionBudget: 1 << 50, timeLimit: .milliseconds(20))
        await expectStopped("while true do end", kinds: [.timeLimit], containing: "policy.lua:3: time limit of 20 ms exceeded", limits: limits)
    }
}
