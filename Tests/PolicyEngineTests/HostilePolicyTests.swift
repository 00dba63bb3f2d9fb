import Testing
@testable import PolicyEngine

/// Hostile and broken policies: each gives a clear policy error, the decision fails closed,
/// and the same revision keeps answering good calls afterwards.
@Suite struct HostilePolicyTests {
    /// Triggers the misbehaviour, checks the error, then checks that good calls still work.
    func expectPolicyError(
        _ misbehaviour: String, kind: PolicyEvaluationError.Kind, containing text: String,
        limits: PolicyLimits = .default, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let revision = try makeRevision(hostileHoldLimit(misbehaviour), limits: limits)
        for _ in 0..<3 {
            let bad = revision.holdLimit(evilRequest)
            #expect(bad.source == .failClosed, sourceLocation: sourceLocation)
            #expect(bad.decision.allow == false, sourceLocation: sourceLocation)
            #expect(bad.error?.kind == kind, "\(String(describing: bad.error))", sourceLocation: sourceLocation)
            #expect(bad.error?.message.contains(text) == true, "\(String(describing: bad.error?.message))", sourceLocation: sourceLocation)
            let good = revision.holdLimit(goodRequest)
            #expect(good.error == nil, sourceLocation: sourceLocation)
            #expect(good.decision.allow == true && good.decision.maxAmount == 1000, sourceLocation: sourceLocation)
        }
    }

    @Test func infiniteLoopInAHook() throws {
        try expectPolicyError("while true do end", kind: .instructionBudget, containing: "policy.lua:3: instruction budget of 1000000 instructions exceeded")
    }

    @Test func infiniteLoopInsideACoroutine() throws {
        try expectPolicyError(
            "local co = coroutine.create(function() while true do end end); local ok, err = coroutine.resume(co); error(err, 0)",
            kind: .instructionBudget, containing: "instruction budget"
        )
    }

    @Test func loopThatCatchesTheBudgetErrorCannotContinue() throws {
        try expectPolicyError(
            "while true do pcall(function() while true do end end) end",
            kind: .instructionBudget, containing: "instruction budget"
        )
    }

    @Test func coroutinesEachSpendingLessThanTheBudgetStillShareIt() throws {
        try expectPolicyError(
            "for i = 1, 1e9 do coroutine.wrap(function() for j = 1, 5000 do end end)() end",
            kind: .instructionBudget, containing: "instruction budget"
        )
    }

    @Test func smallerConfiguredBudgetIsEnforced() throws {
        let limits = PolicyLimits(instructionBudget: 10_000)
        try expectPolicyError("for i = 1, 20000 do end", kind: .instructionBudget, containing: "budget of 10000", limits: limits)
    }

    @Test func infiniteLoopAtLoadTimeStopsTheLoad() {
        let error = loadError("while true do end")
        #expect(error?.message.contains("policy.lua:1: instruction budget") == true, "\(String(describing: error))")
    }

    @Test func tableGrowthHitsTheMemoryCap() throws {
        // A smaller cap than the default: filling 16 MB takes about 100 ms here, longer than
        // the time limit of a call.
        try expectPolicyError(
            "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end", kind: .memory,
            containing: "memory limit of 4194304 bytes exceeded", limits: PolicyLimits(memoryLimit: 4 << 20))
    }

    @Test func stringRepBombHitsTheMemoryCap() throws {
        try expectPolicyError("local s = string.rep('x', 1 << 30)", kind: .memory, containing: "memory limit")
    }

    @Test func errorsRaisedByGuardedLibraryFunctionsNameTheLine() throws {
        // Lua refuses this itself ("resulting string too large"); the position must survive our guard.
        try expectPolicyError("local s = string.rep('x', 1 << 40)", kind: .runtime, containing: "policy.lua:3: resulting string too large")
    }

    @Test func doublingStringsHitsTheMemoryCap() throws {
        try expectPolicyError("local s = 'x' for i = 1, 64 do s = s .. s end", kind: .memory, containing: "memory limit")
    }

    @Test func emptyStringRepWithAHugeCountReturnsAtOnce() throws {
        // Lua's own rep would loop 2^62 times in C, where no instruction hook fires.
        try expectPolicyError("error('rep gave ' .. #string.rep('', 1 << 62) .. ' chars')", kind: .runtime, containing: "rep gave 0 chars")
    }

    @Test func tableMoveOverAHugeRangeIsRefused() throws {
        try expectPolicyError("table.move({}, 1, 1 << 62, 2)", kind: .runtime, containing: "too many elements")
    }

    @Test func insertIntoATableWithAHugeLengthIsRefused() throws {
        try expectPolicyError(
            "table.insert(setmetatable({}, { __len = function() return 1 << 62 end }), 1, 'x')",
            kind: .runtime, containing: "table is too long"
        )
    }

    @Test func backtrackingPatternBombIsRefused() throws {
        try expectPolicyError(
            "string.find(string.rep('a', 100000), '.-.-.-.-b')", kind: .runtime, containing: "too costly"
        )
    }

    @Test func errorWithATableNamesTheLine() throws {
        try expectPolicyError("error({ code = 42 })", kind: .runtime, containing: "policy.lua:3: error object is a table value")
    }

    @Test func errorWithAStringNamesTheLine() throws {
        try expectPolicyError("error('no holds for evil clients')", kind: .runtime, containing: "policy.lua:3: no holds for evil clients")
    }

    @Test func runtimeErrorNamesTheModuleAndLine() throws {
        let revision = try makeRevision(
            """
            local helper = require("helper")
            function hold_limit(req)
              if req.client == "evil" then return helper.broken() end
              return { allow = true, max_amount = 1000, tier = "GOOD" }
            end
            """,
            modules: ["helper.lua": "local M = {}\nfunction M.broken()\n  return nil + 1\nend\nreturn M\n"]
        )
        let bad = revision.holdLimit(evilRequest)
        #expect(bad.error?.kind == .runtime)
        #expect(bad.error?.message.hasPrefix("helper.lua:3: attempt to perform arithmetic on a nil value") == true, "\(String(describing: bad.error))")
    }

    @Test func hugeResultIsRefused() throws {
        // What is checked is the result's size: building 20,000 entries can take past the
        // 50 ms time limit on a loaded machine (it failed CI that way), so that limit is
        // raised here. The refusal itself costs nothing of the call's time.
        var limits = PolicyLimits.default
        limits.timeLimit = .seconds(5)
        try expectPolicyError(
            "local big = {} for i = 1, 20000 do big['k' .. i] = i end return { allow = true, max_amount = 1, tier = 'T', details = big }",
            kind: .invalidResult, containing: "hold_limit (policy.lua:1): the result is too large", limits: limits
        )
    }

    @Test func cyclicResultIsRefused() throws {
        try expectPolicyError(
            "local t = {} t.self = t return { allow = true, max_amount = 1, tier = 'T', details = t }",
            kind: .invalidResult, containing: "more than 16 levels deep"
        )
    }

    @Test func functionInAResultIsRefused() throws {
        try expectPolicyError(
            "return { allow = true, max_amount = 1, tier = 'T', details = { f = print } }",
            kind: .invalidResult, containing: "contains a function"
        )
    }

    @Test func nilResultIsAnInvalidResult() throws {
        try expectPolicyError("return nil", kind: .invalidResult, containing: "hold_limit (policy.lua:1) must return a table, but returned a nil")
    }

    @Test func numberResultIsAnInvalidResult() throws {
        try expectPolicyError("return 42", kind: .invalidResult, containing: "must return a table, but returned a integer")
    }

    @Test func wrongFieldTypeNamesTheField() throws {
        try expectPolicyError(
            "return { allow = 'yes', max_amount = 1, tier = 'T' }", kind: .invalidResult,
            containing: "hold_limit (policy.lua:1) returned 'allow' as a string; it must be true or false"
        )
        try expectPolicyError(
            "return { allow = true, max_amount = '1000', tier = 'T' }", kind: .invalidResult,
            containing: "returned 'max_amount' as a string; it must be a whole number"
        )
        try expectPolicyError(
            "return { allow = true, max_amount = 10.5, tier = 'T' }", kind: .invalidResult,
            containing: "returned 'max_amount' as a number; it must be a whole number"
        )
    }

    @Test func missingFieldNamesTheField() throws {
        try expectPolicyError("return { allow = true, tier = 'T' }", kind: .invalidResult, containing: "returned no 'max_amount' field")
    }

    @Test func negativeLimitIsOutOfRange() throws {
        try expectPolicyError("return { allow = true, max_amount = -5, tier = 'T' }", kind: .invalidResult, containing: "'max_amount' = -5")
    }

    @Test func deepRecursionRunsIntoTheMemoryCap() throws {
        // Each Lua frame costs stack and CallInfo memory: the cap is reached before Lua's
        // own limit of a million stack slots.
        try expectPolicyError("local function f(n) return 1 + f(n + 1) end return f(1)", kind: .memory, containing: "memory limit")
    }
}
