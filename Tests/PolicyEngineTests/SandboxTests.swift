import JSON
import Testing
@testable import PolicyEngine

/// Each rule of POLICY.md "Sandbox" as its own test. Policies report what they can see
/// through `details`, so the assertions read the sandbox from the inside.
@Suite struct SandboxTests {
    /// Runs `expression` inside a hook and returns what it evaluated to (as a string).
    func probe(_ expression: String) throws -> JSONValue? {
        let revision = try makeRevision("""
            function hold_limit(req)
              local ok, value = pcall(function() return \(expression) end)
              return { allow = true, max_amount = 1, tier = "T", details = { ok = ok, value = tostring(value) } }
            end
            """)
        return details(revision, goodRequest)?["value"]
    }

    @Test func ioLibraryIsAbsent() throws {
        #expect(try probe("io") == "nil")
        #expect(try probe("io.open('/etc/passwd')")?.stringValue?.contains("attempt to index a nil value") == true)
    }

    @Test func osIsLimitedToTimeDateClockDifftime() throws {
        #expect(try probe("os.execute") == "nil")
        #expect(try probe("os.getenv") == "nil")
        #expect(try probe("os.exit") == "nil")
        #expect(try probe("os.remove") == "nil")
        #expect(try probe("type(os.time())") == "number")
        #expect(try probe("os.date('!%Y-%m-%d', 0)") == "1970-01-01")
        #expect(try probe("type(os.clock())") == "number")
        #expect(try probe("os.difftime(10, 4)") == "6.0")
    }

    @Test func debugLibraryIsAbsent() throws {
        #expect(try probe("debug") == "nil")
        #expect(try probe("debug.sethook(function() end, '', 0)")?.stringValue?.contains("attempt to index a nil value") == true)
    }

    @Test func packageLibraryIsAbsent() throws {
        #expect(try probe("package") == "nil")
    }

    @Test func fileAndCollectorFunctionsAreAbsent() throws {
        #expect(try probe("dofile") == "nil")
        #expect(try probe("loadfile") == "nil")
        #expect(try probe("collectgarbage") == "nil")
        #expect(try probe("string.dump") == "nil")
    }

    @Test func remainingLibrariesArePresent() throws {
        #expect(try probe("string.format('%05d', 42)") == "00042")
        #expect(try probe("table.concat({1, 2, 3}, ',')") == "1,2,3")
        #expect(try probe("math.max(3, 9)") == "9")
        #expect(try probe("utf8.len('héllo')") == "5")
        #expect(try probe("select(2, coroutine.resume(coroutine.create(function() return 7 end)))") == "7")
        #expect(try probe("('abc'):upper()") == "ABC")
    }

    @Test func loadRefusesBinaryChunks() throws {
        // A Lua 5.4 binary chunk starts with ESC "Lua" 0x54.
        let refused = try probe(#"select(2, load("\27Lua\84\0\25\147\13\10\26\10\4\8\8"))"#)
        #expect(refused?.stringValue?.contains("binary") == true)
        let modeB = try probe(#"select(2, load("return 1", "x", "b"))"#)
        #expect(modeB == "binary chunks are not allowed in policies")
        #expect(try probe(#"load("return 40 + 2")()"#) == "42")
    }

    @Test func textChunksFromLoadCannotKeepGlobals() throws {
        let revision = try makeRevision("""
            function hold_limit(req)
              local before = tostring(leaked)
              load("leaked = 'yes'")()
              return { allow = true, max_amount = 1, tier = "T", details = { before = before } }
            end
            """)
        #expect(details(revision, goodRequest)?["before"] == "nil")
        #expect(details(revision, goodRequest)?["before"] == "nil")
    }

    @Test func requireResolvesOnlyInsideThePolicyFolder() throws {
        let revision = try makeRevision(
            """
            local helper = require("lib.helper")
            function hold_limit(req)
              local results = {}
              for _, name in ipairs({ "../x", "/etc/passwd", "lib/helper", "missing", "lib..helper", "" }) do
                local ok, err = pcall(require, name)
                results[#results + 1] = tostring(ok) .. " " .. tostring(err)
              end
              return { allow = true, max_amount = helper.limit, tier = "T", details = { results = results } }
            end
            """,
            modules: ["lib/helper.lua": "return { limit = 77 }"]
        )
        let evaluation = revision.holdLimit(goodRequest)
        #expect(evaluation.decision.maxAmount == 77)
        guard case .array(let results)? = evaluation.decision.details?["results"] else {
            Issue.record("no results")
            return
        }
        #expect(results.count == 6)
        for result in results {
            #expect(result.stringValue?.hasPrefix("false ") == true, "\(result)")
        }
        #expect(results[0].stringValue?.contains("is not a module name") == true)
        #expect(results[3].stringValue?.contains("module 'missing' not found") == true)
    }

    @Test func circularRequireIsAnErrorNotARecursion() throws {
        let error = loadError("require('a')", modules: ["a.lua": "require('b')", "b.lua": "require('a')"])
        #expect(error?.message.contains("circular require") == true)
    }

    @Test func globalsWrittenInOneCallAreNotSeenByTheNext() throws {
        let revision = try makeRevision("""
            counter = 0
            function hold_limit(req)
              local seen = remembered
              remembered = req.client
              counter = counter + 1
              return { allow = true, max_amount = 1, tier = "T", details = { seen = tostring(seen), counter = counter } }
            end
            """)
        for client in ["first", "second", "third"] {
            let seen = details(revision, .init(amount: 100, client: client))
            #expect(seen?["seen"] == "nil")
            #expect(seen?["counter"] == 1)
        }
    }

    @Test func libraryTablesAreReadOnly() throws {
        let revision = try makeRevision(#"""
            function hold_limit(req)
              local ok1, e1 = pcall(function() string.upper = function() return "hacked" end end)
              local ok2, e2 = pcall(rawset, string, "upper", function() return "hacked" end)
              local ok3 = pcall(function() getmetatable("").__index = {} end)
              local ok4 = pcall(table.insert, math, 1)
              local ok5 = pcall(setmetatable, _ENV, {})
              return { allow = true, max_amount = 1, tier = "T",
                       details = { ok1 = ok1, e1 = e1, ok2 = ok2, e2 = e2, ok3 = ok3, ok4 = ok4, ok5 = ok5,
                                   upper = ("x"):upper(), mt = tostring(getmetatable("")) } }
            end
            """#)
        for _ in 0..<2 {
            let seen = details(revision, goodRequest)
            #expect(seen?["ok1"] == false)
            #expect(seen?["e1"]?.stringValue?.contains("read-only table 'string'") == true)
            #expect(seen?["ok2"] == false)
            #expect(seen?["e2"]?.stringValue?.contains("read-only") == true)
            #expect(seen?["ok3"] == false)
            #expect(seen?["ok4"] == false)
            #expect(seen?["ok5"] == false)
            #expect(seen?["upper"] == "X")
            #expect(seen?["mt"] == "false")
        }
    }

    @Test func finalizersAreRefused() throws {
        #expect(try probe("setmetatable({}, { __gc = function() end })")?.stringValue?.contains("__gc") == true)
    }

    @Test func chittyHelpersParseAndFormatTimes() throws {
        #expect(try probe("chitty.parse_time('2026-01-03')") == "1767398400")
        #expect(try probe("chitty.parse_time('2026-01-03T11:00:00-05:00')") == "1767456000")
        #expect(try probe("chitty.parse_time('2026-01-03T16:00Z')") == "1767456000")
        #expect(try probe("chitty.parse_time('2024-02-29T23:59:59.123Z')") == "1709251199")
        #expect(try probe("chitty.parse_time('2025-02-29')") == "nil")
        #expect(try probe("chitty.parse_time('2026-13-01')") == "nil")
        #expect(try probe("chitty.parse_time('2026-01-03T24:00:00Z')") == "nil")
        #expect(try probe("chitty.parse_time('2026-01-03 garbage')") == "nil")
        #expect(try probe("chitty.parse_time(42)") == "nil")
        #expect(try probe("chitty.format_time(1767456000)") == "2026-01-03T16:00:00Z")
        #expect(try probe("chitty.format_time(-1)") == "1969-12-31T23:59:59Z")
        #expect(try probe("chitty.format_time(chitty.parse_time('1999-12-31T23:59:59Z'))") == "1999-12-31T23:59:59Z")
    }

    @Test func printIsCapturedNotWrittenToTheServersOutput() throws {
        let revision = try makeRevision("""
            function hold_limit(req)
              print("amount", req.amount)
              return { allow = true, max_amount = 1, tier = "T" }
            end
            """)
        #expect(revision.holdLimit(goodRequest).printed == "amount\t100\n")
    }
}
