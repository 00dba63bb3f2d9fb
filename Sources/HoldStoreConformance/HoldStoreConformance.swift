import ChittyCharge

/// The behaviour every `HoldStore` must have, as checks any test target can run against
/// its store, grouped by the store protocol they hold to: give each check a fresh, empty
/// store.
///
/// ```swift
/// @Test(arguments: HoldStoreConformance.checks)
/// func conforms(_ check: HoldStoreCheck) async throws {
///     try await withFreshStore { try await check.run($0) }
/// }
/// ```
///
/// A store being written can run one group at a time: `HoldStoreConformance.checks(for: "HoldRecords")`.
/// Times in the checks are whole milliseconds, the precision a store must keep.
public enum HoldStoreConformance {
    public struct Group: Sendable {
        /// The protocol in `ChittyCharge/Store` the checks hold a store to.
        public let storeProtocol: String
        public let checks: [HoldStoreCheck]
    }

    public static let groups: [Group] = [
        Group(storeProtocol: "HoldRecords", checks: holdRecordsChecks + holdListingChecks + holdOwnerChecks + clientMetadataChecks),
        Group(storeProtocol: "CreateOperationRecords", checks: createOperationRecordsChecks),
        Group(storeProtocol: "HoldOperationRecords", checks: holdOperationRecordsChecks),
        Group(storeProtocol: "ScheduledActionQueue", checks: scheduledActionQueueChecks + scheduledActionLeaseChecks),
        Group(storeProtocol: "ChittyIDOutbox", checks: chittyIDOutboxChecks),
        Group(storeProtocol: "WebhookEventLog", checks: webhookEventLogChecks),
        Group(storeProtocol: "BookingEventLog", checks: bookingEventLogChecks),
        Group(storeProtocol: "OriginSightingLog", checks: originSightingLogChecks),
        Group(storeProtocol: "PolicyDecisionLog", checks: policyDecisionLogChecks),
        Group(storeProtocol: "PolicyRevisionStore", checks: policyRevisionStoreChecks),
        Group(storeProtocol: "OperationalGaugeSource", checks: operationalGaugeSourceChecks),
        Group(storeProtocol: "ClusterRegistry", checks: clusterRegistryChecks),
    ]

    /// Every check of every group.
    public static let checks: [HoldStoreCheck] = groups.flatMap { group in
        group.checks.map { HoldStoreCheck("\(group.storeProtocol): \($0.name)", run: $0.run) }
    }

    /// The checks of one store protocol (empty for a name that is none of them).
    public static func checks(for storeProtocol: String) -> [HoldStoreCheck] {
        checks.filter { $0.name.hasPrefix(storeProtocol + ": ") }
    }
}
