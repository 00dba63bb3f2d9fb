import ChittyCharge

/// The behaviour every `HoldStore` must have, as checks any test target can run against
/// its store: give each check a fresh, empty store.
///
/// ```swift
/// @Test(arguments: HoldStoreConformance.checks)
/// func conforms(_ check: HoldStoreCheck) async throws {
///     try await withFreshStore { try await check.run($0) }
/// }
/// ```
///
/// Times in the checks are whole milliseconds, the precision a store must keep.
public enum HoldStoreConformance {
    public static let checks: [HoldStoreCheck] =
        createOperationChecks + holdChecks + holdListingChecks + holdOperationChecks + policyDecisionChecks + mintOutboxChecks + webhookEventChecks + scheduledActionChecks + scheduledActionLeaseChecks
        + policyRevisionChecks + operationalGaugeChecks + holdOwnerChecks
}
