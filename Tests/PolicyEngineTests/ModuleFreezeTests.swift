import Testing
@testable import PolicyEngine

/// No memory between calls (POLICY.md "Sandbox"): tables a policy created while loading are
/// read-only during calls, so one client's data can never reach another client's call.
@Suite struct ModuleFreezeTests {
    @Test func moduleTableWrittenInOneCallIsNotSeenByTheNext() throws {
        let revision = try makeRevision(
            """
            local cache = require("cache")
            function hold_limit(req)
              local seen = cache.last_client
              local wrote, problem = pcall(function() cache.last_client = req.client end)
              return { allow = true, max_amount = 1, tier = "T",
                       details = { seen = tostring(seen), wrote = wrote, problem = tostring(problem) } }
            end
            """,
            modules: ["cache.lua": "return {}"])
        for client in ["alice", "bob", "carol"] {
            let seen = details(revision, .init(amount: 100, client: client))
            #expect(seen?["seen"] == "nil")
            #expect(seen?["wrote"] == false)
            #expect(seen?["problem"]?.stringValue?.contains("policy.lua:4: attempt to modify a table the policy created while loading") == true,
                    "\(String(describing: seen?["problem"]))")
        }
    }

    /// Writes are tracked for 64 upvalues per function: a hook reaching more module-level
    /// locals is refused at load rather than left able to keep data in the 65th.
    @Test func aHookWithMoreThan64ModuleLocalsIsRefusedAtLoad() {
        let names = (1...70).map { "v\($0)" }
        let entry = names.map { "local \($0) = 0" }.joined(separator: "\n") + """

            function hold_limit(req)
              \(names.map { "\($0) = \($0) + 1" }.joined(separator: " "))
              return { allow = true, max_amount = v70, tier = "T" }
            end
            """
        let error = loadError(entry)
        #expect(error?.message.contains("more than 64 module-level locals") == true, "\(String(describing: error))")
    }

    /// The libraries are shared by every call too: a write to `string`, `math` or the
    /// string metatable must not carry one guest's data into the next call.
    @Test func libraryTablesCannotCarryDataBetweenCalls() throws {
        let revision = try makeRevision("""
            function hold_limit(req)
              local seen = tostring(string.leak) .. tostring(math.leak) .. tostring(table.leak) .. tostring(("").leak)
              pcall(function() string.leak = req.client end)
              pcall(function() math.leak = req.client end)
              pcall(function() table.leak = req.client end)
              pcall(function() getmetatable("").__index.leak = req.client end)
              pcall(function() rawset(utf8, "leak", req.client) end)
              return { allow = true, max_amount = 1, tier = "T", details = { seen = seen .. tostring(utf8.leak) } }
            end
            """)
        for client in ["guest-a@example.com", "guest-b@example.com"] {
            #expect(details(revision, .init(amount: 100, client: client))?["seen"] == "nilnilnilnilnil")
        }
    }

    @Test func moduleLocalsWrittenInOneCallAreNotSeenByTheNext() throws {
        let revision = try makeRevision("""
            local last_guest
            local calls = 0
            local function make_counter() local n = 0 return function() n = n + 1 return n end end
            local counter = make_counter()
            function hold_limit(req)
              local previous = last_guest
              last_guest = req.client
              calls = calls + 1
              local function bump() calls = calls + 10 end
              bump()
              local mine = 0
              local function own() mine = mine + 1 end
              own()
              return { allow = true, max_amount = 1, tier = "T",
                       details = { previous = tostring(previous), calls = calls, counted = counter(), mine = mine } }
            end
            """)
        for client in ["guest-a@example.com", "guest-b@example.com", "guest-c@example.com"] {
            let seen = details(revision, .init(amount: 100, client: client))
            #expect(seen?["previous"] == "nil")
            #expect(seen?["calls"] == 11)
            #expect(seen?["counted"] == 1)
            #expect(seen?["mine"] == 1)
        }
    }

    @Test func writingToAModuleLocalTableIsAPolicyError() throws {
        let revision = try makeRevision("""
            local recent = {}
            function hold_limit(req)
              if not req.client:find("@", 1, true) then return { allow = true, max_amount = 1000, tier = "T" } end
              if #recent > 0 then error("previous guest: " .. recent[#recent]) end
              recent[#recent + 1] = req.client
              return { allow = true, max_amount = 1000, tier = "T" }
            end
            """)
        for client in ["guest-a@example.com", "guest-b@example.com"] {
            let evaluation = revision.holdLimit(.init(amount: 100, client: client))
            #expect(evaluation.source == .failClosed)
            #expect(evaluation.error?.kind == .runtime)
            #expect(evaluation.error?.message.contains("policy.lua:5: attempt to modify a table the policy created while loading") == true,
                    "\(String(describing: evaluation.error))")
            #expect(evaluation.error?.message.contains("guest-a") == false)
        }
    }

    @Test func rawsetAndSetmetatableCannotUnfreezeATable() throws {
        let revision = try makeRevision("""
            local state = { count = 0 }
            function hold_limit(req)
              local ok1 = pcall(rawset, state, "count", 1)
              local ok2 = pcall(setmetatable, state, nil)
              local ok3 = pcall(table.insert, state, "x")
              local ok4 = pcall(function() getmetatable(state).__index = {} end)
              return { allow = true, max_amount = 1, tier = "T",
                       details = { ok1 = ok1, ok2 = ok2, ok3 = ok3, ok4 = ok4, count = state.count } }
            end
            """)
        let seen = details(revision, goodRequest)
        #expect(seen?["ok1"] == false && seen?["ok2"] == false && seen?["ok3"] == false && seen?["ok4"] == false)
        #expect(seen?["count"] == 0)
    }

    @Test func frozenTablesReadAsBefore() throws {
        let revision = try makeRevision(
            """
            local tiers = require("tiers")
            local Account = {}
            Account.__index = Account
            function Account.new(limit) return setmetatable({ limit = limit }, Account) end
            function Account:cap() return self.limit end
            local gold = Account.new(500)
            local DENY = { allow = false, max_amount = 0, tier = "NONE", reason = "constant" }
            function hold_limit(req)
              if req.client == "deny" then return DENY end
              local names, sum = {}, 0
              for name, limit in pairs(tiers.limits) do names[#names + 1] = name; sum = sum + limit end
              table.sort(names)
              local listed = {}
              for i, name in ipairs(tiers.order) do listed[i] = name end
              return { allow = true, max_amount = gold:cap(), tier = "T", details = {
                names = table.concat(names, ","), sum = sum, listed = table.concat(listed, ","),
                length = #tiers.order, raw_length = rawlen(tiers.order), raw = rawget(tiers.limits, "GOLD"),
                first = next(tiers.order), unpacked = select("#", table.unpack(tiers.order)),
                same_metatable = getmetatable(gold) == Account, mt_of_plain = tostring(getmetatable(tiers)),
              } }
            end
            """,
            modules: ["tiers.lua": """
                local M = { limits = { GOLD = 300, SILVER = 200 }, order = { "GOLD", "SILVER" } }
                return M
                """])
        let evaluation = revision.holdLimit(goodRequest)
        #expect(evaluation.error == nil, "\(String(describing: evaluation.error))")
        #expect(evaluation.decision.maxAmount == 500)
        let seen = evaluation.decision.details
        #expect(seen?["names"] == "GOLD,SILVER")
        #expect(seen?["sum"] == 500)
        #expect(seen?["listed"] == "GOLD,SILVER")
        #expect(seen?["length"] == 2 && seen?["raw_length"] == 2 && seen?["raw"] == 300)
        #expect(seen?["first"] == 1 && seen?["unpacked"] == 2)
        #expect(seen?["same_metatable"] == true)
        #expect(seen?["mt_of_plain"] == "false")
        // A constant result table defined at load is returned whole.
        let denied = revision.holdLimit(.init(amount: 100, client: "deny"))
        #expect(denied.error == nil, "\(String(describing: denied.error))")
        #expect(denied.decision.allow == false && denied.decision.reason == "constant")
    }

    @Test func coroutineKeptFromTheLoadIsRefused() {
        let error = loadError("""
            local counter = coroutine.create(function() local n = 0 while true do n = n + 1 coroutine.yield(n) end end)
            function hold_limit(req) local _, n = coroutine.resume(counter) return { allow = true, max_amount = n, tier = "T" } end
            """)
        #expect(error?.message.contains("coroutine created while loading") == true, "\(String(describing: error))")
    }
}
