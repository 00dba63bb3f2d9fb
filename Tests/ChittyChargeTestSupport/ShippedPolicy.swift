import Foundation

/// The repository's `policies/` folder, for tests and benchmarks that run the shipped rules
/// with a change (a higher rate limit, another release delay).
public enum ShippedPolicy {
    public static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("policies").path

    public struct EditFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The modules and `settings.json` (not the tests, which describe the unchanged rules),
    /// each passed through `edit`. Because the copy has no tests, its settings say so on
    /// purpose (`tests.untested_hooks`), as a property manager's folder would have to.
    public static func files(editing edit: (_ path: String, _ text: String) throws -> String = { $1 }) throws -> [String: String] {
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name.hasSuffix(".lua") || name == "settings.json" {
            var text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            if name == "settings.json" { text = try markingHooksUntested(text) }
            files[name] = try edit(name, text)
        }
        return files
    }

    /// `files(editing:)` written to a new temporary folder; returns its path.
    public static func copy(editing edit: (_ path: String, _ text: String) throws -> String = { $1 }) throws -> String {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("cc-policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for (name, text) in try files(editing: edit) {
            try text.write(to: target.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return target.path
    }

    /// `text` with `old` replaced, failing when `old` is not there (a test that edits nothing
    /// tests nothing).
    public static func replacing(_ old: String, with new: String, in text: String) throws -> String {
        guard text.contains(old) else { throw EditFailure(description: "the shipped policy no longer contains \(old)") }
        return text.replacingOccurrences(of: old, with: new)
    }

    /// Lists every hook in `tests.untested_hooks`, as text, so the rest of the file keeps
    /// its layout for `replacing`.
    private static func markingHooksUntested(_ settings: String) throws -> String {
        let every = #""untested_hooks": ["hold_limit", "cors", "rate_limit", "hold_schedule"]"#
        return try replacing(#""untested_hooks": []"#, with: every, in: settings)
    }
}
