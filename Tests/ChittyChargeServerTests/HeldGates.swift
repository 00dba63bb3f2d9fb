import ChittyCharge
import Foundation
import Synchronization

/// A gate that opens once: `wait()` returns once `open()` was called (before or after).
final class OneTimeGate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let pass = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(waiter)
                return false
            }
            if pass { waiter.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A gateway whose cancels wait at `release` (after opening `cancelArrived`), so a test can
/// look at the store while a scheduler is inside its Stripe call.
final class HeldCancelGateway: PaymentGateway {
    let inner: any PaymentGateway
    let cancelArrived = OneTimeGate()
    let release = OneTimeGate()

    init(_ inner: any PaymentGateway) { self.inner = inner }

    func createPaymentIntent(_ params: CreatePaymentIntentParams, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent {
        try await inner.createPaymentIntent(params, idempotencyKey: idempotencyKey)
    }
    func retrievePaymentIntent(id: String) async throws(PaymentGatewayError) -> PaymentIntent {
        try await inner.retrievePaymentIntent(id: id)
    }
    func capturePaymentIntent(id: String, amountToCapture: Int?, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent {
        try await inner.capturePaymentIntent(id: id, amountToCapture: amountToCapture, idempotencyKey: idempotencyKey)
    }
    func cancelPaymentIntent(id: String, idempotencyKey: String) async throws(PaymentGatewayError) -> PaymentIntent {
        cancelArrived.open()
        await release.wait()
        return try await inner.cancelPaymentIntent(id: id, idempotencyKey: idempotencyKey)
    }
}

/// Policy revisions in memory, in the order they were recorded. After `holdNextWrite()`,
/// the next write waits at the returned gates, so a test can look at the world while a
/// reload or rollback is inside its store write.
final class HeldRevisionStore: PolicyRevisionStore {
    struct HeldWrite: Sendable {
        /// Opened when the write arrives.
        let arrived = OneTimeGate()
        /// The write waits for this.
        let release = OneTimeGate()
    }

    private let state = Mutex<(records: [PolicyRevisionRecord], writesStarted: Int, next: HeldWrite?)>(([], 0, nil))

    /// Writes begun, finished or not.
    var writesStarted: Int { state.withLock { $0.writesStarted } }
    /// The ids recorded, first recorded first.
    var recorded: [String] { state.withLock { $0.records.map(\.id) } }

    func holdNextWrite() -> HeldWrite {
        let held = HeldWrite()
        state.withLock { $0.next = held }
        return held
    }

    func recordPolicyActivation(_ record: PolicyRevisionRecord, keep: Int) async throws {
        let held = state.withLock { state -> HeldWrite? in
            state.writesStarted += 1
            defer { state.next = nil }
            return state.next
        }
        if let held {
            held.arrived.open()
            await held.release.wait()
        }
        state.withLock { $0.records.append(record) }
    }

    func policyRevisions(limit: Int) async throws -> [PolicyRevisionRecord] {
        state.withLock { Array($0.records.reversed().prefix(limit)) }
    }

    func policyRevision(id: String) async throws -> PolicyRevisionRecord? {
        state.withLock { $0.records.last { $0.id == id } }
    }
}
