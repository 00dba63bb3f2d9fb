import Foundation

/// Where the sources of recently active policy revisions are kept (rollback): all
/// `PolicyReloader` needs of the store.
public protocol PolicyRevisionStore: Sendable {
    /// Stores the revision's sources (once per id) and when and how it became active, then
    /// forgets all but the `keep` most recently activated revisions.
    func recordPolicyActivation(_ record: PolicyRevisionRecord, keep: Int) async throws
    /// Most recently activated first.
    func policyRevisions(limit: Int) async throws -> [PolicyRevisionRecord]
    func policyRevision(id: String) async throws -> PolicyRevisionRecord?
}

