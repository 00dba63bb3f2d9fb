import Crypto
import Foundation
import JSON

/// The files of one policy set, read from a folder, and the revision id that names them.
///
/// Every `.lua` file below the folder is a module `require` can load by name
/// (`lib/dates.lua` is `lib.dates`); `policy.lua` is the entry. `settings.json` holds the
/// policy's data (limits, origins, fees), which the policy reads with `require("settings")`
/// as a read-only table. `tests/*.json` holds the policy's own test cases. All of them count
/// in the revision id: a change to a setting or a test is a new revision, and deleting the
/// tests cannot slip a folder past its gate under the same id.
public struct PolicySourceSet: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case module
            /// `settings.json`, loaded as the module `settings`.
            case settings
            /// `tests/*.json`: not loaded into Lua.
            case tests
        }

        /// Path relative to the folder, with `/` separators.
        public let path: String
        /// The name `require` uses (empty for test files).
        public let moduleName: String
        public let contents: [UInt8]
        public var kind: Kind {
            if path == PolicySourceSet.settingsFile { return .settings }
            return path.hasPrefix(PolicySourceSet.testsFolder + "/") ? .tests : .module
        }

        init(path: String, moduleName: String, contents: [UInt8]) {
            self.path = path
            self.moduleName = moduleName
            self.contents = contents
        }

        /// A file by its path in the folder; nil when the path is none of the three kinds.
        init?(path: String, contents: [UInt8]) {
            if path == PolicySourceSet.settingsFile {
                self.init(path: path, moduleName: PolicySourceSet.settingsModule, contents: contents)
            } else if PolicySourceSet.isTestFile(path) {
                self.init(path: path, moduleName: "", contents: contents)
            } else if let moduleName = PolicySourceSet.moduleName(forPath: path) {
                self.init(path: path, moduleName: moduleName, contents: contents)
            } else {
                return nil
            }
        }
    }

    public static let settingsFile = "settings.json"
    public static let settingsModule = "settings"
    public static let testsFolder = "tests"

    public static let entryModule = "policy"
    public static let maximumFileSize = 1 << 20
    public static let maximumFileCount = 256

    public let directory: String
    public let files: [File]
    /// SHA-256 of the files' paths and contents, first 12 hex digits.
    public let revision: String
    /// `settings.json`, or empty when the folder has none.
    public let settings: [String: JSONValue]
    /// `settings.json`'s `cors.allowed_origins` (empty: none listed).
    public let allowedOrigins: [String]
    /// `settings.json`'s `tests.untested_hooks`: defined hooks allowed to go live without a test.
    public let untestedHooks: Set<PolicyHook>

    /// The Lua modules and the settings: what is loaded into each Lua state.
    public var loadedFiles: [File] { files.filter { $0.kind != .tests } }
    /// `tests/*.json`, in path order.
    public var testFiles: [File] { files.filter { $0.kind == .tests } }

    public init(directory: String) throws(PolicyLoadError) {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PolicyLoadError("\(directory): no such policy folder")
        }
        var found: [File] = []
        do {
            try Self.collect(in: root, relative: "", into: &found)
        } catch let error as PolicyLoadError {
            throw error
        } catch {
            throw PolicyLoadError("\(directory): cannot read the policy folder: \(error)")
        }
        try self.init(directory: directory, files: found)
    }

    /// A source set from files in memory (tests, candidates received over the API).
    public init(directory: String = "<memory>", files: [String: String]) throws(PolicyLoadError) {
        var built: [File] = []
        for (path, text) in files {
            guard let file = File(path: path, contents: Array(text.utf8)) else { throw Self.notAPolicyFile(path) }
            built.append(file)
        }
        try self.init(directory: directory, files: built)
    }

    /// A source set from stored bytes (a revision kept for rollback).
    public init(directory: String, fileContents: [(path: String, contents: [UInt8])]) throws(PolicyLoadError) {
        var built: [File] = []
        for (path, contents) in fileContents {
            guard let file = File(path: path, contents: contents) else { throw Self.notAPolicyFile(path) }
            built.append(file)
        }
        try self.init(directory: directory, files: built)
    }

    static func notAPolicyFile(_ path: String) -> PolicyLoadError {
        PolicyLoadError("\(path): not a policy file (expected modules like tiers.lua or lib/dates.lua, settings.json, or tests/*.json)")
    }

    static func isTestFile(_ path: String) -> Bool {
        guard path.hasPrefix(testsFolder + "/"), path.hasSuffix(".json") else { return false }
        let name = path.dropFirst(testsFolder.count + 1)
        return !name.contains("/") && !name.hasPrefix(".") && name.count > 5
    }

    private init(directory: String, files: [File]) throws(PolicyLoadError) {
        let sorted = files.sorted { $0.path < $1.path }
        guard sorted.contains(where: { $0.kind == .module && $0.moduleName == Self.entryModule }) else {
            throw PolicyLoadError("\(directory): no \(Self.entryModule).lua (the entry every policy set needs)")
        }
        guard sorted.count <= Self.maximumFileCount else {
            throw PolicyLoadError("\(directory): more than \(Self.maximumFileCount) files")
        }
        var settings: [String: JSONValue] = [:]
        if let file = sorted.first(where: { $0.kind == .settings }) {
            if sorted.contains(where: { $0.kind == .module && $0.moduleName == Self.settingsModule }) {
                throw PolicyLoadError("\(Self.settingsFile) and settings.lua: keep one; require(\"settings\") loads \(Self.settingsFile)")
            }
            settings = try PolicySettings.parse(file.contents, path: file.path)
        }
        self.settings = settings
        self.allowedOrigins = try PolicySettings.allowedOrigins(in: settings)
        self.untestedHooks = try PolicySettings.untestedHooks(in: settings)
        var hash = SHA256()
        for file in sorted {
            hash.update(data: Array(file.path.utf8) + [0])
            withUnsafeBytes(of: UInt64(file.contents.count).littleEndian) { hash.update(bufferPointer: $0) }
            hash.update(data: file.contents)
        }
        self.directory = directory
        self.files = sorted
        self.revision = String(hash.finalize().map { String(format: "%02x", $0) }.joined().prefix(12))
    }

    private static func collect(in folder: URL, relative: String, into files: inout [File]) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        for name in names where !name.hasPrefix(".") {
            let path = relative.isEmpty ? name : "\(relative)/\(name)"
            let url = folder.appendingPathComponent(name)
            // attributesOfItem does not follow links: a symlink is skipped, so nothing outside
            // the folder can become a module.
            let type = try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
            if type == .typeDirectory {
                if relative.isEmpty && name == testsFolder {
                    try collectTests(in: url, into: &files)
                    continue
                }
                try collect(in: url, relative: path, into: &files)
            } else if type == .typeRegular, relative.isEmpty, name == settingsFile {
                files.append(File(path: path, moduleName: settingsModule, contents: try readLimited(url, path: path)))
            } else if type == .typeRegular, name.hasSuffix(".lua") {
                guard let moduleName = moduleName(forPath: path) else {
                    throw PolicyLoadError("\(path): file names of policy modules may use letters, digits and _ only")
                }
                files.append(File(path: path, moduleName: moduleName, contents: try readLimited(url, path: path)))
            }
        }
    }

    /// `tests/*.json` (not below: a sub-folder of tests is not read, as before).
    private static func collectTests(in folder: URL, into files: inout [File]) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            let path = "\(testsFolder)/\(name)"
            let url = folder.appendingPathComponent(name)
            let type = try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
            guard type == .typeRegular, isTestFile(path) else { continue }
            files.append(File(path: path, moduleName: "", contents: try readLimited(url, path: path)))
        }
    }

    private static func readLimited(_ url: URL, path: String) throws -> [UInt8] {
        let contents = try Data(contentsOf: url)
        guard contents.count <= maximumFileSize else {
            throw PolicyLoadError("\(path): larger than \(maximumFileSize / 1024) KiB")
        }
        return Array(contents)
    }

    /// `lib/dates.lua` → `lib.dates`; nil for anything that is not identifier segments.
    static func moduleName(forPath path: String) -> String? {
        guard path.hasSuffix(".lua") else { return nil }
        let segments = path.dropLast(4).split(separator: "/", omittingEmptySubsequences: false)
        let valid = segments.allSatisfy { segment in
            guard let first = segment.first, first.isASCII, first.isLetter || first == "_" else { return false }
            return segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }
        return valid ? segments.joined(separator: ".") : nil
    }
}
