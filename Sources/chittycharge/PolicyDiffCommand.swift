import ArgumentParser
import Foundation
import JSON

extension PolicyCommand {
    /// Two stored revisions side by side, as a unified diff of their files: what changed
    /// between what served before and what serves now (from the server's stored sources,
    /// not the folder, which may have moved on).
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what changed between two stored policy revisions (a unified diff of their files).",
            discussion: "With one revision, compares it with the active one. Revisions: see `chittycharge policy status`.")

        @OptionGroup var server: AdminClientOptions

        @Argument(help: "The older revision.")
        var from: String

        @Argument(help: "The newer revision (default: the active one).")
        var to: String?

        func run() async throws {
            let target: String
            if let to {
                target = to
            } else {
                let (_, status) = try await server.send(.GET, "/admin/policies")
                guard let active = status["active"]?["revision"]?.stringValue else {
                    printError("policy diff: the server did not name its active revision")
                    throw ExitCode.failure
                }
                target = active
            }
            let old = try await files(of: from)
            let new = try await files(of: target)
            var printed = false
            for path in Set(old.keys).union(new.keys).sorted() {
                let hunks = UnifiedDiff.lines(old[path] ?? "", new[path] ?? "",
                                              oldName: old[path] == nil ? "/dev/null" : "\(from)/\(path)",
                                              newName: new[path] == nil ? "/dev/null" : "\(target)/\(path)")
                if !hunks.isEmpty {
                    print(hunks, terminator: "")
                    printed = true
                }
            }
            if !printed { print("policy diff: revisions \(from) and \(target) have the same files") }
        }

        /// A stored revision's files by path (base64 files are compared as their base64).
        private func files(of revision: String) async throws -> [String: String] {
            let encoded = revision.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? revision
            let (status, body) = try await server.send(.GET, "/admin/policies/revisions/\(encoded)")
            guard status == 200, case .array(let files)? = body["files"] else {
                printError("policy diff: \(body["error"]?.stringValue ?? "no stored revision \(revision)")")
                throw ExitCode.failure
            }
            var byPath: [String: String] = [:]
            for file in files {
                guard let path = file["path"]?.stringValue else { continue }
                byPath[path] = file["text"]?.stringValue ?? "(binary) " + (file["base64"]?.stringValue ?? "")
            }
            return byPath
        }
    }
}

/// A unified diff of two texts by lines (the standard library's `difference(from:)`, a
/// Myers diff), with three lines of context around each change.
enum UnifiedDiff {
    static let context = 3

    static func lines(_ old: String, _ new: String, oldName: String, newName: String) -> String {
        let a = old.isEmpty ? [] : old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.isEmpty ? [] : new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let edits = script(a, b)
        guard edits.contains(where: { $0.kind != .same }) else { return "" }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        // Group edits into hunks: changes closer than twice the context share one.
        var index = 0
        while index < edits.count {
            guard let firstChange = edits[index...].firstIndex(where: { $0.kind != .same }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < edits.count {
                if edits[end].kind != .same { lastChange = end }
                if end - lastChange > 2 * context { break }
                end += 1
            }
            let stop = min(edits.count, lastChange + context + 1)
            let hunk = edits[start..<stop]
            let oldStart = (hunk.first?.oldLine ?? 0)
            let newStart = (hunk.first?.newLine ?? 0)
            let oldCount = hunk.filter { $0.kind != .added }.count
            let newCount = hunk.filter { $0.kind != .removed }.count
            out += "@@ -\(oldCount == 0 ? oldStart - 1 : oldStart),\(oldCount) +\(newCount == 0 ? newStart - 1 : newStart),\(newCount) @@\n"
            for edit in hunk {
                out += (edit.kind == .same ? " " : edit.kind == .removed ? "-" : "+") + edit.text + "\n"
            }
            index = stop
        }
        return out
    }

    struct Edit: Equatable {
        enum Kind { case same, removed, added }
        var kind: Kind
        var text: String
        /// 1-based line in the old and new text this edit stands at.
        var oldLine: Int
        var newLine: Int
    }

    /// The edit script: removals before insertions at each place, as `diff -u` writes them.
    static func script(_ a: [String], _ b: [String]) -> [Edit] {
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in b.difference(from: a) {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        var edits: [Edit] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) {
                edits.append(Edit(kind: .removed, text: a[i], oldLine: i + 1, newLine: j + 1))
                i += 1
            } else if j < b.count, inserted.contains(j) {
                edits.append(Edit(kind: .added, text: b[j], oldLine: i + 1, newLine: j + 1))
                j += 1
            } else {
                edits.append(Edit(kind: .same, text: a[i], oldLine: i + 1, newLine: j + 1))
                i += 1
                j += 1
            }
        }
        return edits
    }
}
