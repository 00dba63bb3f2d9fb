import Crypto
import Foundation

/// The files of one policy set, read from a folder, and the revision id that names them.
///
/// Every `.lua` file below the folder is a module `require` can load by name
/// (`lib/dates.lua` is `lib.dates`); `policy.lua` is the entry. `tests/` holds the policy's
/// own test cases, which do not change decisions and so are not part of the revision.
public struct PolicySourceSet: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// Path relative to the folder, with `/` separators.
        public let path: String
        /// The name `require` uses.
        public let moduleName: String
        public let contents: [UInt8]
    }

    public static let entryModule = "policy"
    public static let maximumFileSize = 1 << 20
    public static let maximumFileCount = 256

    public let directory: String
    public let files: [File]
    /// SHA-256 of the files' paths and contents, first 12 hex digits.
    public let revision: String

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
            guard let moduleName = Self.moduleName(forPath: path) else {
                throw PolicyLoadError("\(path): not a policy module path (expected names like tiers.lua or lib/dates.lua)")
            }
            built.append(File(path: path, moduleName: moduleName, contents: Array(text.utf8)))
        }
        try self.init(directory: directory, files: built)
    }

    /// A source set from stored bytes (a revision kept for rollback).
    public init(directory: String, fileContents: [(path: String, contents: [UInt8])]) throws(PolicyLoadError) {
        var built: [File] = []
        for (path, contents) in fileContents {
            guard let moduleName = Self.moduleName(forPath: path) else {
                throw PolicyLoadError("\(path): not a policy module path (expected names like tiers.lua or lib/dates.lua)")
            }
            built.append(File(path: path, moduleName: moduleName, contents: contents))
        }
        try self.init(directory: directory, files: built)
    }

    private init(directory: String, files: [File]) throws(PolicyLoadError) {
        let sorted = files.sorted { $0.path < $1.path }
        guard sorted.contains(where: { $0.moduleName == Self.entryModule }) else {
            throw PolicyLoadError("\(directory): no \(Self.entryModule).lua (the entry every policy set needs)")
        }
        guard sorted.count <= Self.maximumFileCount else {
            throw PolicyLoadError("\(directory): more than \(Self.maximumFileCount) .lua files")
        }
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
                if relative.isEmpty && name == "tests" { continue }
                try collect(in: url, relative: path, into: &files)
            } else if type == .typeRegular, name.hasSuffix(".lua") {
                guard let moduleName = moduleName(forPath: path) else {
                    throw PolicyLoadError("\(path): file names of policy modules may use letters, digits and _ only")
                }
                let contents = try Data(contentsOf: url)
                guard contents.count <= maximumFileSize else {
                    throw PolicyLoadError("\(path): larger than \(maximumFileSize / 1024) KiB")
                }
                files.append(File(path: path, moduleName: moduleName, contents: Array(contents)))
            }
        }
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
