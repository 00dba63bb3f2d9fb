import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `policies/README.md` is the property manager's manual: every command in it runs, and
/// every cookbook recipe, applied to the shipped folder, passes its own tests and the
/// checks a reload runs. A manual that drifts from the program fails here.
@Suite struct PolicyManualTests {
    static let manual = PolicyCLITests.policies + "/README.md"

    struct CodeBlock {
        /// The fence's info string (`sh`, `json settings`, `lua append=policy.lua`).
        let info: String
        let text: String
        /// The nearest heading above it.
        let heading: String
    }

    static func codeBlocks() throws -> [CodeBlock] {
        var blocks: [CodeBlock] = []
        var heading = ""
        var open: (info: String, lines: [String])?
        for line in try String(contentsOfFile: manual, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var block = open {
                if trimmed == "```" {
                    blocks.append(CodeBlock(info: block.info, text: block.lines.joined(separator: "\n"), heading: heading))
                    open = nil
                } else {
                    block.lines.append(String(line))
                    open = block
                }
            } else if trimmed.hasPrefix("```") {
                open = (String(trimmed.dropFirst(3)), [])
            } else if line.hasPrefix("#") {
                heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
            }
        }
        return blocks
    }

    /// The commands of the `sh` blocks, continuation lines joined, comments left out.
    static func commands() throws -> [String] {
        var commands: [String] = []
        for block in try codeBlocks() where block.info == "sh" {
            var pending = ""
            for raw in block.text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
                if line.hasSuffix("\\") {
                    pending += line.dropLast() + " "
                } else {
                    commands.append(pending + line)
                    pending = ""
                }
            }
        }
        return commands
    }

    /// The recipes: heading → their settings fragments, Lua to append, and test cases.
    struct Recipe {
        var name: String
        var settings: [[String: Any]] = []
        var lua: [(file: String, text: String)] = []
        var tests: [Any] = []
    }

    static func recipes() throws -> [Recipe] {
        var recipes: [String: Recipe] = [:]
        var order: [String] = []
        for block in try codeBlocks() where block.heading.hasPrefix("Recipe: ") {
            let name = String(block.heading.dropFirst("Recipe: ".count))
            if recipes[name] == nil { order.append(name) }
            var recipe = recipes[name] ?? Recipe(name: name)
            if block.info == "json settings" {
                recipe.settings.append(try #require(try JSONSerialization.jsonObject(with: Data(block.text.utf8)) as? [String: Any]))
            } else if block.info == "json test" {
                recipe.tests += try #require(try JSONSerialization.jsonObject(with: Data(block.text.utf8)) as? [Any])
            } else if block.info.hasPrefix("lua append=") {
                recipe.lua.append((String(block.info.dropFirst("lua append=".count)), block.text))
            } else {
                Issue.record("recipe \(name) has a code block the test does not know: \(block.info)")
            }
            recipes[name] = recipe
        }
        return order.compactMap { recipes[$0] }
    }

    /// Keys of `fragment` set into `base`, objects merged key by key, anything else replaced.
    static func merged(_ base: [String: Any], _ fragment: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in fragment {
            if let inner = value as? [String: Any], let existing = base[key] as? [String: Any] {
                result[key] = merged(existing, inner)
            } else {
                result[key] = value
            }
        }
        return result
    }

    /// A copy of the shipped folder, tests included, with `recipe` applied (its tests in
    /// `tests/mine.json`), or only its tests when `applying` is false.
    static func folder(with recipe: Recipe, applying: Bool = true) throws -> String {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("manual-\(UUID())")
        try FileManager.default.copyItem(atPath: PolicyCLITests.policies, toPath: target.path)
        if applying {
            let settingsURL = target.appendingPathComponent("settings.json")
            var settings = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: settingsURL)) as? [String: Any])
            for fragment in recipe.settings { settings = merged(settings, fragment) }
            try JSONSerialization.data(withJSONObject: settings, options: [.prettyPrinted, .sortedKeys]).write(to: settingsURL)
            for (file, text) in recipe.lua {
                let url = target.appendingPathComponent(file)
                try (try String(contentsOf: url, encoding: .utf8) + "\n" + text + "\n").write(to: url, atomically: true, encoding: .utf8)
            }
        }
        try JSONSerialization.data(withJSONObject: recipe.tests, options: [.prettyPrinted])
            .write(to: target.appendingPathComponent("tests/mine.json"))
        return target.path
    }

    @Test func everyRecipeAppliedToTheShippedFolderPassesAReloadsChecks() async throws {
        let recipes = try Self.recipes()
        #expect(recipes.map(\.name) == [
            "per-property limit", "long-stay release", "no-show fee", "extra origin", "weekend rule",
            "long stays and reauthorization",
        ])
        let cli = PolicyCLITests()
        for recipe in recipes {
            #expect(!recipe.tests.isEmpty, "recipe \(recipe.name) has no test")
            let applied = try Self.folder(with: recipe)
            let check = try await cli.run(["policy", "check", "--dir", applied])
            #expect(check.status == 0, "recipe \(recipe.name): \(check.stderr)")
            let lint = try await cli.run(["policy", "lint", "--dir", applied])
            #expect(lint.status == 0, "recipe \(recipe.name): \(lint.stdout)\(lint.stderr)")
            let test = try await cli.run(["policy", "test", "--dir", applied])
            #expect(test.status == 0 && test.stdout.contains("PASS tests/mine.json"), "recipe \(recipe.name): \(test.stdout)")
            // The recipe changes something: its tests fail on the folder as shipped (the
            // reauthorization recipe only describes what the shipped rules do).
            guard !recipe.settings.isEmpty || !recipe.lua.isEmpty else { continue }
            let unchanged = try await cli.run(["policy", "test", "--dir", try Self.folder(with: recipe, applying: false)])
            #expect(unchanged.status == 1, "recipe \(recipe.name)'s tests pass without it: \(unchanged.stdout)")
        }
    }

    @Test func everyCommandInTheManualRunsAgainstTheShippedFolderAndARunningServer() async throws {
        let commands = try Self.commands()
        #expect(commands.count >= 10, "\(commands)")
        #expect(commands.allSatisfy { $0.hasPrefix("chittycharge ") || $0.hasPrefix("curl ") }, "\(commands)")

        // The server runs the shipped folder; the property manager then edits it (the
        // extra-origin recipe), as the manual's walk-through assumes before a reload.
        let policies = try Self.folder(with: Recipe(name: "shipped"), applying: false)
        try FileManager.default.removeItem(atPath: policies + "/tests/mine.json")
        let database = ServeCLITests.temporaryDatabaseURL()
        let clientToken = "manual-client-token"
        let adminToken = "manual-admin-token-0123456789"
        let server = try await ServedProcess.start(
            policyDirectory: policies, arguments: ["--database-url", database],
            environment: ["CHITTY_ID_TOKEN": clientToken, "ADMIN_TOKEN": adminToken])
        defer { server.process.send(SIGKILL) }
        #expect(try await server.waitUntilHealthy() != nil)
        var placing = URLRequest(url: URL(string: server.baseURL + "/api/holds")!)
        placing.httpMethod = "POST"
        placing.setValue(clientToken, forHTTPHeaderField: "ChittyID-Token")
        placing.setValue("application/json", forHTTPHeaderField: "Content-Type")
        placing.httpBody = Data(#"{"amount": 20000, "description": "Deposit", "metadata": {"check_in": "2026-07-03T15:00:00Z"}}"#.utf8)
        let (body, _) = try await URLSession.shared.data(for: placing)
        let holdID = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["id"] as? String)
        let extraOrigin = try #require(try Self.recipes().first { $0.name == "extra origin" })
        let settingsURL = URL(fileURLWithPath: policies + "/settings.json")
        var settings = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: settingsURL)) as? [String: Any])
        for fragment in extraOrigin.settings { settings = Self.merged(settings, fragment) }
        try JSONSerialization.data(withJSONObject: settings, options: [.prettyPrinted]).write(to: settingsURL)

        // `chittycharge` on the PATH is the binary under test.
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("manual-bin-\(UUID())")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin.path + "/chittycharge", withDestinationPath: PolicyCLITests.executable.path)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["POLICY_DIR"] = policies
        environment["CHITTYCHARGE_URL"] = server.baseURL
        environment["ADMIN_TOKEN"] = adminToken
        environment["CHITTY_ID_TOKEN"] = clientToken
        environment["DATABASE_URL"] = database
        environment["HOLD_ID"] = holdID
        for command in commands {
            let result = try await ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", command], environment: environment)
            #expect(result.status == 0, "\(command)\nstdout: \(result.stdout)\nstderr: \(result.stderr)")
        }
    }
}
