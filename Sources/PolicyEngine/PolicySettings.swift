import Foundation
import JSON

/// `settings.json`: the policy's data, apart from its code. Read once per revision and
/// handed to Lua as the module `settings` (a generated `return { … }` chunk), so a policy
/// reads it with `local settings = require("settings")` and, like every table made while
/// loading, cannot change it during a hook call.
public enum PolicySettings {
    /// The top level must be an object; a list may not contain `null` (a Lua list cannot
    /// hold nil, and a hole would silently shorten it).
    static func parse(_ contents: [UInt8], path: String) throws(PolicyLoadError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue(jsonData: Data(contents))
        } catch let error as JSONParseError {
            let (line, column) = position(of: error.offset, in: contents)
            throw PolicyLoadError("\(path):\(line):\(column): \(error.reason)")
        } catch {
            throw PolicyLoadError("\(path): not valid JSON: \(error)")
        }
        guard case .object(let fields) = value else {
            throw PolicyLoadError("\(path): must be a JSON object of settings, such as {\"no_show\": {\"enabled\": false}}")
        }
        if let where_ = firstNullInList(value, at: "") {
            throw PolicyLoadError("\(path): \(where_) is null inside a list; Lua lists cannot hold null (remove it)")
        }
        return fields
    }

    /// `cors.allowed_origins`: the origins the `cors` hook is handed as
    /// `config.allowed_origins` unless the server's `ALLOWED_ORIGINS` overrides them.
    static func allowedOrigins(in settings: [String: JSONValue]) throws(PolicyLoadError) -> [String] {
        guard let cors = settings["cors"] else { return [] }
        guard case .object(let fields) = cors else {
            throw PolicyLoadError("\(PolicySourceSet.settingsFile): cors must be an object such as {\"allowed_origins\": [\"https://app.example.com\"]}")
        }
        guard let list = fields["allowed_origins"] else { return [] }
        guard case .array(let items) = list, let origins = Optional(items.compactMap(\.stringValue)), origins.count == items.count else {
            throw PolicyLoadError("\(PolicySourceSet.settingsFile): cors.allowed_origins must be a list of origins (text)")
        }
        return origins
    }

    /// `tests.untested_hooks`: hooks the folder says, on purpose, it does not test. Any
    /// other hook it defines needs at least one case in `tests/` to become active.
    static func untestedHooks(in settings: [String: JSONValue]) throws(PolicyLoadError) -> Set<PolicyHook> {
        guard let list = settings["tests"]?["untested_hooks"] else { return [] }
        let names = PolicyHook.allCases.map(\.name).joined(separator: ", ")
        guard case .array(let items) = list else {
            throw PolicyLoadError("\(PolicySourceSet.settingsFile): tests.untested_hooks must be a list of hook names (\(names))")
        }
        var hooks: Set<PolicyHook> = []
        for item in items {
            guard let name = item.stringValue, let hook = PolicyHook(rawValue: name) else {
                throw PolicyLoadError("\(PolicySourceSet.settingsFile): tests.untested_hooks lists \(item), which is not a hook (\(names))")
            }
            hooks.insert(hook)
        }
        return hooks
    }

    /// 1-based line and column of a byte offset.
    public static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes.prefix(max(0, offset)) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    private static func firstNullInList(_ value: JSONValue, at path: String) -> String? {
        switch value {
        case .object(let fields):
            for key in fields.keys.sorted() {
                if let found = firstNullInList(fields[key]!, at: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if item == .null { return "\(path)[\(index + 1)]" }
                if let found = firstNullInList(item, at: "\(path)[\(index + 1)]") { return found }
            }
        default: break
        }
        return nil
    }

    /// The Lua chunk that builds the settings table. Strings are written with decimal
    /// escapes for everything but printable ASCII, so no text in the file can end the
    /// string or the chunk early.
    static func luaSource(_ settings: [String: JSONValue]) -> String {
        var out = "-- generated from settings.json\nreturn "
        write(.object(settings), into: &out)
        out += "\n"
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "nil"
        case .bool(let flag): out += flag ? "true" : "false"
        case .integer(let number): out += number == Int64.min ? "math.mininteger" : String(number)
        case .number(let number):
            // Always a float in Lua (1.0 stays 1.0); "%.17g" round-trips every double.
            let text = String(format: "%.17g", number)
            out += text.contains(where: { $0 == "." || $0 == "e" || $0 == "n" || $0 == "i" }) ? text : text + ".0"
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            out += "{"
            for item in items {
                write(item, into: &out)
                out += ","
            }
            out += "}"
        case .object(let fields):
            out += "{"
            for key in fields.keys.sorted() {
                out += "["
                writeString(key, into: &out)
                out += "]="
                write(fields[key]!, into: &out)
                out += ","
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for byte in text.utf8 {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\" + String(format: "%03d", byte)
            }
        }
        out += "\""
    }
}
