import Foundation

/// Whether the store's database answers, as last seen: `/health` reports it without a
/// round trip of its own (health checks are frequent, and must not load the database).
public protocol DatabaseHealth: Sendable {
    /// `sqlite` or `postgresql`, for `/health` and the logs.
    var databaseKind: String { get }
    func databaseStatus() -> DatabaseStatus
}

public struct DatabaseStatus: Sendable, Equatable {
    public var reachable: Bool
    /// Why it is not (the last error), when it is not.
    public var problem: String?

    public init(reachable: Bool, problem: String? = nil) {
        self.reachable = reachable
        self.problem = problem
    }
}
