/// The seam to the ChittyID service.
public protocol ChittyIDMinter: Sendable {
    /// Mints an id for an entity (`AUTH` for a hold). Throws when the service cannot.
    func mint(entityType: String, metadata: [String: String]) async throws -> String
}
