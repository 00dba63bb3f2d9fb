import Foundation
import PolicyEngine

/// The sources of a policy revision that was active, kept so `policy rollback` can activate
/// it again after the folder on disk has moved on.
public struct PolicyRevisionRecord: Sendable, Equatable {
    public struct File: Sendable, Equatable, Codable {
        public var path: String
        public var contents: Data

        public init(path: String, contents: Data) {
            self.path = path
            self.contents = contents
        }
    }

    public var id: String
    /// Where it was loaded from (for people; rollback uses `files`).
    public var directory: String
    public var files: [File]
    /// When it last became active.
    public var activatedAt: Date
    /// How it last became active (`startup`, `signal`, `api`, `rollback`).
    public var trigger: String
    /// Who made it active last (the admin's name; nil for startup, a signal, another
    /// instance, or records from before names were kept) and what they said about it.
    public var activatedBy: String?
    public var message: String?

    public init(id: String, directory: String, files: [File], activatedAt: Date, trigger: String,
                activatedBy: String? = nil, message: String? = nil) {
        self.activatedBy = activatedBy
        self.message = message
        self.id = id
        self.directory = directory
        self.files = files
        self.activatedAt = activatedAt
        self.trigger = trigger
    }

    public init(activation: PolicyActivation, activatedBy: String? = nil, message: String? = nil) {
        let sources = activation.revision.sources
        self.init(
            id: activation.revision.id, directory: sources.directory,
            files: sources.files.map { File(path: $0.path, contents: Data($0.contents)) },
            activatedAt: activation.at, trigger: activation.trigger.rawValue, activatedBy: activatedBy, message: message)
    }

    /// The files as a source set again; its revision id equals `id` unless the record was
    /// tampered with, which the caller checks.
    public func sourceSet() throws(PolicyLoadError) -> PolicySourceSet {
        try PolicySourceSet(directory: "stored revision \(id)", fileContents: files.map { ($0.path, Array($0.contents)) })
    }
}
