import Foundation
import Testing

/// `chittycharge policy lint`: luacheck with the sandbox's globals and the hook names.
@Suite struct PolicyLintCLITests {
    let cli = PolicyCLITests()

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> PolicyCLITests.Run {
        let finished = try await ChildProcess.run(
            PolicyCLITests.executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new })
        return PolicyCLITests.Run(status: finished.status, stdout: finished.stdout, stderr: finished.stderr, seconds: 0)
    }

    @Test func theShippedFolderLintsClean() async throws {
        let result = try await cli.run(["policy", "lint", "--dir", PolicyCLITests.policies])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("policy lint: 4 file(s) in "), "\(result.stdout)")
    }

    @Test func aMisspelledHookAnAccidentalGlobalAndAMissingLibraryAreFoundWithTheirPlace() async throws {
        let dir = try cli.folder("""
            function hold_limt(req)
              total = (total or 0) + req.amount
              return io.open("/etc/passwd")
            end
            """)
        try "return {}\n".write(toFile: dir + "/tiers.lua", atomically: true, encoding: .utf8)
        let result = try await cli.run(["policy", "lint", "--dir", dir])
        #expect(result.status == 1)
        #expect(result.stdout.contains(
            "policy.lua:1:10: (W111) setting non-standard global variable 'hold_limt' (a misspelled hook? ChittyCharge calls hold_limit)"),
            "\(result.stdout)")
        #expect(result.stdout.contains("policy.lua:2:3: (W111) setting non-standard global variable 'total'\n"), "\(result.stdout)")
        #expect(result.stdout.contains("policy.lua:3:10: (W113) accessing undefined variable 'io'"), "\(result.stdout)")
        #expect(result.stdout.hasSuffix("policy lint: 4 warning(s) in \(dir)\n"), "\(result.stdout)")
    }

    /// The configuration is Lua: a policy loads it and compares it, name by name, with what
    /// its sandbox offers of every Lua 5.4 standard name (a policy cannot list its
    /// environment), and checks that each ChittyCharge name it lists exists. A name the
    /// sandbox gains or loses without the lint list following fails here.
    @Test func theConfigurationListsExactlyWhatTheSandboxOffers() async throws {
        let printed = try await cli.run(["policy", "lint", "--print-config", "--dir", PolicyCLITests.policies])
        #expect(printed.status == 0)
        #expect(printed.stdout.contains("globals = {\"hold_limit\", \"cors\", \"rate_limit\", \"hold_schedule\"}"), "\(printed.stdout)")
        let dir = try cli.folder("""
            local stds, std, max_line_length, unused_args = {}
            \(printed.stdout)
            local standard = {
              _G = true, _VERSION = true, assert = true, collectgarbage = true, dofile = true, error = true,
              getmetatable = true, ipairs = true, load = true, loadfile = true, next = true, pairs = true,
              pcall = true, print = true, rawequal = true, rawget = true, rawlen = true, rawset = true,
              require = true, select = true, setmetatable = true, tonumber = true, tostring = true, type = true,
              xpcall = true, warn = true, debug = true, io = true, package = true,
              os = {"clock", "date", "difftime", "execute", "exit", "getenv", "remove", "rename", "setlocale", "time", "tmpname"},
              string = {"byte", "char", "dump", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack",
                        "packsize", "rep", "reverse", "sub", "unpack", "upper"},
              table = {"concat", "insert", "move", "pack", "remove", "sort", "unpack"},
              math = {"abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max",
                      "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan",
                      "tointeger", "type", "ult"},
              utf8 = {"char", "charpattern", "codepoint", "codes", "len", "offset"},
              coroutine = {"close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield"},
            }
            local listed = {}
            for key, value in pairs(stds.chittycharge.read_globals) do
              if type(key) == "number" then
                listed[value] = true
              else
                listed[key] = {}
                for _, field in ipairs(value.fields) do listed[key][field] = true end
              end
            end
            local problems = {}
            local function compare(name, is_listed, offered)
              if is_listed and not offered then problems[#problems + 1] = "listed, not offered: " .. name end
              if offered and not is_listed then problems[#problems + 1] = "offered, not listed: " .. name end
            end
            for name, fields in pairs(standard) do
              local value = _ENV[name]
              compare(name, listed[name] ~= nil, value ~= nil)
              if fields ~= true and value ~= nil and listed[name] ~= nil then
                for _, field in ipairs(fields) do
                  compare(name .. "." .. field, listed[name] == true or listed[name][field] == true, value[field] ~= nil)
                end
              end
            end
            for name, fields in pairs(listed) do
              if standard[name] ~= nil then
                -- compared above
              elseif _ENV[name] == nil then
                compare(name, true, false)
              elseif fields ~= true then
                for field in pairs(fields) do compare(name .. "." .. field, true, _ENV[name][field] ~= nil) end
              end
            end
            table.sort(problems)
            if #problems > 0 then error(table.concat(problems, "; ")) end
            function hold_limit(req) return { allow = true, max_amount = req.amount, tier = "NEW_GUEST" } end
            """)
        let result = try await cli.run(["policy", "eval", "--dir", dir, "hold_limit", #"{"amount":100}"#])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func withoutLuacheckItSaysHowToInstallItAndFails() async throws {
        let result = try await run(["policy", "lint", "--dir", PolicyCLITests.policies], environment: ["LUACHECK": "/nonexistent/luacheck"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Install it with: apt-get install lua-check"), "\(result.stderr)")
    }
}
