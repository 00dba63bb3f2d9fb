import Foundation

/// A row of `schema_migrations`: which migration ran and when.
public struct AppliedSchemaMigration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var appliedAt: Date

    public init(version: Int, name: String, appliedAt: Date) {
        self.version = version
        self.name = name
        self.appliedAt = appliedAt
    }
}
