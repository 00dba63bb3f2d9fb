/// Whose holds a caller may read and act on.
///
/// Each hold belongs to one client (`Hold.owner`, the client that placed it). An API
/// client may reach the holds of its own name and of the clients that share a group with
/// it in the clients file; any other hold answers exactly as a hold that does not exist,
/// so its existence is not revealed. The service's own work (scheduler, webhooks,
/// reconciliation, recovery) acts with no client and reaches every hold.
public enum HoldAccess: Sendable, Equatable {
    /// The service itself: every hold.
    case everyHold
    /// An API client: the holds owned by one of these client names (none when empty).
    case ownedBy(Set<String>)

    public func permits(_ hold: Hold) -> Bool {
        switch self {
        case .everyHold: true
        case .ownedBy(let owners): owners.contains(hold.owner)
        }
    }

    /// `filter` narrowed to what this access may list.
    public func restricting(_ filter: HoldFilter) -> HoldFilter {
        guard case .ownedBy(let owners) = self else { return filter }
        var restricted = filter
        restricted.owners = filter.owners.map { $0.intersection(owners) } ?? owners
        return restricted
    }
}
