import Foundation
import Logging

/// Reads holds and their history for clients and admin. A hold the caller's `access`
/// does not permit is answered as one that does not exist.
public struct HoldQueries: Sendable {
    public typealias Store = HoldRecords & WebhookEventLog & PolicyDecisionLog & BookingEventLog

    let store: any Store
    let stripeSync: StripeSync

    public init(store: any Store, stripeSync: StripeSync) {
        self.store = store
        self.stripeSync = stripeSync
    }

    /// One hold from the store; with `refresh`, Stripe's current view first (applied by
    /// the webhook rules, so a refresh can never undo a newer change). Stripe is not asked
    /// about a hold `access` does not permit.
    public func hold(id: String, refresh: Bool = false, access: HoldAccess, logger: Logger) async throws(HoldServiceError) -> Hold {
        guard let hold = try await read(id), access.permits(hold) else { throw .notFound(holdID: id) }
        guard refresh else { return hold }
        try await stripeSync.refresh(hold, logger: logger)
        guard let current = try await read(id) else { throw .notFound(holdID: id) }
        return current
    }

    public func hold(chittyID: String, access: HoldAccess) async throws(HoldServiceError) -> Hold {
        let found: Hold?
        do {
            found = try await store.hold(chittyID: chittyID)
        } catch {
            throw .storage(error)
        }
        guard let found, access.permits(found) else {
            throw HoldServiceError(.holdNotFound, "No hold with ChittyID '\(chittyID)'")
        }
        return found
    }

    /// The holds `access` permits that match `filter`. A cursor that names a hold outside
    /// `access` is answered as one that names no hold.
    public func holds(matching filter: HoldFilter, access: HoldAccess) async throws(HoldServiceError) -> [Hold] {
        do {
            return try await store.holds(matching: access.restricting(filter))
        } catch HoldStoreError.notFound {
            throw .invalidInput("starting_after names no hold", field: "starting_after")
        } catch {
            throw .storage(error)
        }
    }

    /// A hold's history: what Stripe told us (webhooks, our own reads), what the scheduler
    /// did, and the policy decisions about it (the `hold_limit` that placed it, each
    /// `hold_schedule`), oldest first.
    public func history(holdID: String, access: HoldAccess) async throws(HoldServiceError)
        -> (events: [WebhookEventRecord], decisions: [PolicyDecisionRecord], bookingEvents: [BookingEvent]) {
        do {
            guard let hold = try await store.hold(id: holdID), access.permits(hold) else { throw HoldServiceError.notFound(holdID: holdID) }
            let events = try await store.webhookEvents(holdID: holdID)
            let decisions = try await store.decisions(subject: hold.createOperationKey) + store.decisions(subject: holdID)
            return (events, decisions, try await store.bookingEvents(holdID: holdID))
        } catch let error as HoldServiceError {
            throw error
        } catch {
            throw .storage(error)
        }
    }

    private func read(_ id: String) async throws(HoldServiceError) -> Hold? {
        do {
            return try await store.hold(id: id)
        } catch {
            throw .storage(error)
        }
    }
}
