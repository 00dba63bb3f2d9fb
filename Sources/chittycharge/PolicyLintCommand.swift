import ArgumentParser
import Foundation
import PolicyEngine
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

extension PolicyCommand {
    /// `luacheck` (Debian's `lua-check`) over the policy folder, with a configuration that
    /// knows the sandbox: the globals a policy may define are exactly the hooks, and the ones
    /// it may read are exactly what the sandbox offers. A misspelled hook (`hold_limt`) and an
    /// accidental global (`x = 1` in a function) are both "setting non-standard global".
    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run luacheck on the policy with the sandbox's globals and the hook names (apt-get install lua-check).",
            discussion: "Exits 1 with file:line:col for each finding. $LUACHECK names another luacheck executable."
        )

        @OptionGroup var options: PolicyOptions

        @Flag(help: "Print the luacheck configuration (for an editor's luacheck or a .luacheckrc) and exit.")
        var printConfig = false

        func run() async throws {
            if printConfig {
                print(Self.luacheckConfiguration, terminator: "")
                return
            }
            let executable = ProcessInfo.processInfo.environment["LUACHECK"] ?? "luacheck"
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("chittycharge-luacheckrc-\(UUID().uuidString)")
            try Self.luacheckConfiguration.write(to: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: config) }
            let sources: PolicySourceSet
            do {
                sources = try PolicySourceSet(directory: options.directory)
            } catch {
                printError(error.message)
                throw ExitCode.failure
            }
            let files = sources.files.filter { $0.kind == .module }.map(\.path)
            let status: TerminationStatus
            let output: String
            let errors: String
            do {
                let result = try await Subprocess.run(
                    executable.contains("/") ? .path(FilePath(executable)) : .name(executable),
                    arguments: Arguments(["--config", config.path, "--formatter", "plain", "--codes", "--no-color"] + files),
                    workingDirectory: FilePath(options.directory),
                    output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
                (status, output, errors) = (result.terminationStatus, result.standardOutput, result.standardError)
            } catch {
                printError("policy lint: cannot run \(executable) (\(error)). Install it with: apt-get install lua-check")
                throw ExitCode.failure
            }
            let findings = output.split(separator: "\n").map { Self.explained(String($0)) }
            guard case .exited(let code) = status, code <= 1 else {
                printError("policy lint: \(executable) failed: \(errors)\(output)")
                throw ExitCode.failure
            }
            if findings.isEmpty {
                print("policy lint: \(files.count) file(s) in \(options.directory), no warnings")
                return
            }
            findings.forEach { print($0) }
            print("policy lint: \(findings.count) warning(s) in \(options.directory)")
            throw ExitCode.failure
        }

        /// A global set that is one or two letters away from a hook is most likely the hook,
        /// misspelled: say so.
        static func explained(_ line: String) -> String {
            guard line.contains("(W111)"), let open = line.lastIndex(of: "'"),
                  let start = line[..<open].lastIndex(of: "'") else { return line }
            let name = String(line[line.index(after: start)..<open])
            guard let hook = PolicyHook.allCases.first(where: { editDistance($0.name, name) <= 2 }) else { return line }
            return line + " (a misspelled hook? ChittyCharge calls \(hook.name))"
        }

        static func editDistance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            var previous = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var current = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(1, b.count) where !b.isEmpty {
                    current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                previous = current
            }
            return previous[b.count]
        }

        /// What the sandbox offers (Sources/CLuaShim/stdlib.c and sandbox.c), and the hooks. A
        /// library named without fields is offered whole; PolicyLintCLITests compares this
        /// with the sandbox, name by name.
        static var luacheckConfiguration: String {
            let hooks = PolicyHook.allCases.map { "\"\($0.name)\"" }.joined(separator: ", ")
            return """
                -- Generated by `chittycharge policy lint`: the ChittyCharge policy sandbox.
                stds.chittycharge = {
                  globals = {\(hooks)},
                  read_globals = {
                    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
                    "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "warn", "load", "print",
                    "require", "_VERSION", "table", "math", "utf8", "coroutine",
                    string = {fields = {
                      "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack", "packsize",
                      "rep", "reverse", "sub", "unpack", "upper",
                    }},
                    os = {fields = {"time", "date", "clock", "difftime"}},
                    chitty = {fields = {"parse_time", "format_time"}},
                  },
                }
                std = "chittycharge"
                max_line_length = 120
                -- A hook's input is often only partly used.
                unused_args = false

                """
        }
    }
}
