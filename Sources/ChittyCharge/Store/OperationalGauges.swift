/// Counts of work waiting in the store, for `/metrics` (see `HoldStore.operationalGauges`).
public struct OperationalGauges: Sendable, Equatable {
    /// Scheduled captures, releases and reauthorizations whose time has come.
    public var scheduledActionsDue: Int
    /// Of those, the ones due for longer than the scheduler should ever take.
    public var scheduledActionsOverdue: Int
    /// Capturable holds flagged `no_action_before_expiry`.
    public var holdsWithoutActionBeforeExpiry: Int
    /// Holds still waiting for their ChittyID.
    public var chittyIDOutboxDepth: Int

    public init(scheduledActionsDue: Int, scheduledActionsOverdue: Int, holdsWithoutActionBeforeExpiry: Int, chittyIDOutboxDepth: Int) {
        self.scheduledActionsDue = scheduledActionsDue
        self.scheduledActionsOverdue = scheduledActionsOverdue
        self.holdsWithoutActionBeforeExpiry = holdsWithoutActionBeforeExpiry
        self.chittyIDOutboxDepth = chittyIDOutboxDepth
    }
}
