import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let createOperationRecordsChecks: [HoldStoreCheck] = [
        HoldStoreCheck("claimCreate records its decision only when it starts the operation") { store in
            let decision = PolicyDecisionRecord(
                id: "decision-1", hook: "hold_limit", revision: "rev1", source: "policy",
                input: Data(#"{"amount":100}"#.utf8), decision: Data(#"{"allow":true}"#.utf8), subject: "op-1", createdAt: Fixture.time(0))
            let operation = Fixture.createOperation(key: "op-1", clientIdempotencyKey: "idem-1")
            try expectEqual(try await store.claimCreate(operation, decision: decision), .started(operation), "claim with a decision")
            try expectEqual(try await store.decisions(subject: "op-1"), [decision], "the decision recorded with the claim")
            var retryDecision = decision
            retryDecision.id = "decision-2"
            retryDecision.subject = "op-2"
            let retry = Fixture.createOperation(key: "op-2", clientIdempotencyKey: "idem-1")
            try expectEqual(try await store.claimCreate(retry, decision: retryDecision), .existing(operation), "a retry of the same key")
            try expectEqual(try await store.decisions(subject: "op-2"), [], "a refused claim records no decision")
        },

        HoldStoreCheck("claimCreate inserts a new operation") { store in
            let operation = Fixture.createOperation(key: "op-1", clientIdempotencyKey: "idem-1")
            try expectEqual(try await store.claimCreate(operation), .started(operation), "claimCreate of a new operation")
            try expectEqual(try await store.createOperation(key: "op-1"), operation, "createOperation(key:) after the claim")
            try expectEqual(try await store.pendingCreates().map(\.key), ["op-1"], "pendingCreates after the claim")
        },

        HoldStoreCheck("claimCreate with the same client and key returns the existing operation untouched") { store in
            let first = Fixture.createOperation(key: "op-1", clientIdempotencyKey: "idem-1", requestHash: "hash-1")
            _ = try await store.claimCreate(first)
            let retry = Fixture.createOperation(
                key: "op-2", clientIdempotencyKey: "idem-1", requestHash: "hash-2",
                params: Fixture.params(amount: 99), at: Fixture.time(5_000))
            try expectEqual(try await store.claimCreate(retry), .existing(first), "second claim with the same client key")
            try expectEqual(try await store.createOperation(key: "op-2"), nil, "the refused operation must not be stored")
            try expectEqual(try await store.createOperation(key: "op-1"), first, "the first operation must be untouched")

            // Still the same record once it has finished.
            let hold = Fixture.hold(id: "pi_1", operationKey: "op-1")
            try await store.completeCreate(key: "op-1", hold: hold)
            guard case .existing(let finished) = try await store.claimCreate(retry) else {
                throw ConformanceFailure("a claim after completion started a new operation", location: #fileID)
            }
            try expectEqual(finished.key, "op-1", "key of the existing operation after completion")
            try expectEqual(finished.state, .succeeded, "state of the existing operation after completion")
            try expectEqual(finished.holdID, "pi_1", "holdID of the existing operation after completion")
        },

        HoldStoreCheck("claimCreate keys of different clients are independent") { store in
            let mine = Fixture.createOperation(key: "op-1", client: "frontdesk", clientIdempotencyKey: "idem-1")
            let theirs = Fixture.createOperation(key: "op-2", client: "kiosk", clientIdempotencyKey: "idem-1")
            try expectEqual(try await store.claimCreate(mine), .started(mine), "claim of the first client")
            try expectEqual(try await store.claimCreate(theirs), .started(theirs), "claim of another client with the same key")
            try expectEqual(try await store.createOperation(key: "op-1"), mine, "first client's operation")
            try expectEqual(try await store.createOperation(key: "op-2"), theirs, "second client's operation")
        },

        HoldStoreCheck("claimCreate without a client key never collides") { store in
            let first = Fixture.createOperation(key: "op-1", clientIdempotencyKey: nil)
            let second = Fixture.createOperation(key: "op-2", clientIdempotencyKey: nil)
            try expectEqual(try await store.claimCreate(first), .started(first), "first claim without a client key")
            try expectEqual(try await store.claimCreate(second), .started(second), "second claim without a client key")
            try expectEqual(Set(try await store.pendingCreates().map(\.key)), ["op-1", "op-2"], "pendingCreates")
        },

        HoldStoreCheck("createOperation(key:) round-trips every field") { store in
            let params = CreatePaymentIntentParams(
                amount: 48_000, currency: "eur", description: "Damage deposit — unit 4B ✓", receiptEmail: "guest@example.com",
                metadata: ["unit": "4B", "note": "quotes \" and, commas", "empty": ""],
                customer: "cus_123", paymentMethod: "pm_456", confirm: true)
            let full = CreateOperation(
                key: "op-full", client: "frontdesk", clientIdempotencyKey: "idem-full", requestHash: "sha256:abc",
                params: params, tier: "premium", tierLimit: 250_000, policyRevision: "rev-42",
                propertyID: "prop-9", tenantID: "tenant-3", createdAt: Fixture.time(1), updatedAt: Fixture.time(2))
            let sparse = CreateOperation(
                key: "op-sparse", client: "kiosk", clientIdempotencyKey: nil, requestHash: "sha256:def",
                params: Fixture.params(), tier: "standard", tierLimit: 0, policyRevision: "rev-1",
                propertyID: nil, tenantID: nil, createdAt: Fixture.time(3), updatedAt: Fixture.time(3))
            _ = try await store.claimCreate(full)
            _ = try await store.claimCreate(sparse)
            try expectEqual(try await store.createOperation(key: "op-full"), full, "operation with every field set")
            try expectEqual(try await store.createOperation(key: "op-sparse"), sparse, "operation with optional fields nil")
            try expectEqual(try await store.createOperation(key: "op-unknown"), nil, "createOperation of an unknown key")
        },

        HoldStoreCheck("completeCreate stores the hold, marks the operation succeeded and queues minting") { store in
            let operation = Fixture.createOperation(key: "op-1")
            _ = try await store.claimCreate(operation)
            let at = Fixture.time(2_000)
            var hold = Fixture.hold(id: "pi_1", operationKey: "op-1")
            hold.updatedAt = at
            try await store.completeCreate(key: "op-1", hold: hold)

            try expectEqual(try await store.hold(id: "pi_1"), hold, "hold(id:) after completeCreate")
            let stored = try unwrap(try await store.createOperation(key: "op-1"), "operation after completeCreate")
            try expectEqual(stored.state, .succeeded, "operation state")
            try expectEqual(stored.holdID, "pi_1", "operation holdID")
            try expectEqual(stored.updatedAt, at, "operation updatedAt")
            try expectEqual(try await store.pendingCreates(), [], "pendingCreates after completion")
            try expectEqual(try await Fixture.outboxDepth(store), 1, "mint jobs after completing a hold without a ChittyID")
            try expectEqual(
                try await store.claimMintJobs(at: at, leaseUntil: at, limit: 10),
                [ChittyIDMintJob(holdID: "pi_1", attempts: 0, nextAttemptAt: at, lastError: nil)],
                "the queued mint job")
        },

        HoldStoreCheck("completeCreate queues no minting for a hold that has its ChittyID") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1", chittyID: "CHITTY-AUTH-1")
            try expectEqual(try await store.hold(id: "pi_1"), hold, "hold(id:)")
            try expectEqual(try await Fixture.outboxDepth(store), 0, "mint jobs for a hold that already has a ChittyID")
        },

        HoldStoreCheck("completeCreate is idempotent for the same operation and hold") { store in
            _ = try await store.claimCreate(Fixture.createOperation(key: "op-1"))
            let hold = Fixture.hold(id: "pi_1", operationKey: "op-1")
            try await store.completeCreate(key: "op-1", hold: hold)
            let afterFirst = try await store.createOperation(key: "op-1")
            try await store.completeCreate(key: "op-1", hold: hold)

            try expectEqual(try await store.createOperation(key: "op-1"), afterFirst, "operation after a repeated completeCreate")
            try expectEqual(try await store.hold(id: "pi_1"), hold, "hold after a repeated completeCreate")
            try expectEqual(try await store.holds(matching: HoldFilter()).map(\.id), ["pi_1"], "holds after a repeated completeCreate")
            try expectEqual(try await Fixture.outboxDepth(store), 1, "mint jobs after a repeated completeCreate")
        },

        HoldStoreCheck("completeCreate changes nothing when the hold cannot be stored") { store in
            let existing = try await Fixture.placeHold(in: store, id: "pi_1")
            let operation = Fixture.createOperation(key: "op-2", at: Fixture.time(1_000))
            _ = try await store.claimCreate(operation)
            // Same hold id as one that exists: the insert fails, so nothing else may stick.
            let clash = Fixture.hold(id: "pi_1", operationKey: "op-2", createdAt: Fixture.time(1_000))
            try await expectStoreError("completeCreate with a hold id that exists", matching: { _ in true }) {
                try await store.completeCreate(key: "op-2", hold: clash)
            }
            try expectEqual(try await store.createOperation(key: "op-2"), operation, "operation after the failed completeCreate")
            try expectEqual(try await store.hold(id: "pi_1"), existing, "the existing hold")
            try expectEqual(try await Fixture.outboxDepth(store), 1, "mint jobs after the failed completeCreate")
        },

        HoldStoreCheck("completeCreate of an unknown operation throws notFound") { store in
            let hold = Fixture.hold(id: "pi_1", operationKey: "op-missing")
            try await expectStoreError("completeCreate of an unknown key", matching: \.isNotFound) {
                try await store.completeCreate(key: "op-missing", hold: hold)
            }
            try expectEqual(try await store.hold(id: "pi_1"), nil, "hold after the refused completeCreate")
        },

        HoldStoreCheck("failCreate stores the failure and the failed state") { store in
            let operation = Fixture.createOperation(key: "op-1", clientIdempotencyKey: "idem-1")
            _ = try await store.claimCreate(operation)
            let failure = Fixture.failure()
            let at = Fixture.time(3_000)
            try await store.failCreate(key: "op-1", failure: failure, at: at)

            var expected = operation
            expected.state = .failed
            expected.failure = failure
            expected.updatedAt = at
            try expectEqual(try await store.createOperation(key: "op-1"), expected, "operation after failCreate")
            try expectEqual(try await store.pendingCreates(), [], "pendingCreates after failCreate")
            let retry = Fixture.createOperation(key: "op-2", clientIdempotencyKey: "idem-1")
            try expectEqual(try await store.claimCreate(retry), .existing(expected), "a retry gets the failed operation to replay")
        },

        HoldStoreCheck("recordRefusedCreate stores the intent as a hold and fails the operation, minting nothing") { store in
            let operation = Fixture.createOperation(key: "op-1", clientIdempotencyKey: "idem-1")
            _ = try await store.claimCreate(operation)
            let hold = Fixture.hold(id: "pi_refused", operationKey: "op-1", status: .requiresPaymentMethod)
            let failure = Fixture.failure()
            let at = Fixture.time(3_000)
            try await store.recordRefusedCreate(key: "op-1", hold: hold, failure: failure, at: at)
            try await store.recordRefusedCreate(key: "op-1", hold: hold, failure: failure, at: at)

            var expected = operation
            expected.state = .failed
            expected.failure = failure
            expected.holdID = "pi_refused"
            expected.updatedAt = at
            try expectEqual(try await store.createOperation(key: "op-1"), expected, "operation after recordRefusedCreate")
            try expectEqual(try await store.hold(id: "pi_refused"), hold, "the refused intent as a hold")
            try expectEqual(try await Fixture.outboxDepth(store), 0, "no ChittyID for a refused intent")
            try expectEqual(try await store.pendingCreates(), [], "pendingCreates after recordRefusedCreate")
            let retry = Fixture.createOperation(key: "op-2", clientIdempotencyKey: "idem-1")
            try expectEqual(try await store.claimCreate(retry), .existing(expected), "a retry gets the failed operation to replay")
        },

        HoldStoreCheck("pendingCreates lists only pending operations") { store in
            _ = try await store.claimCreate(Fixture.createOperation(key: "op-pending-1", at: Fixture.time(0)))
            try await Fixture.placeHold(in: store, id: "pi_done", createdAt: Fixture.time(1))
            _ = try await store.claimCreate(Fixture.createOperation(key: "op-failed", at: Fixture.time(2)))
            try await store.failCreate(key: "op-failed", failure: Fixture.failure(.stripeInvalidRequest), at: Fixture.time(3))
            let pending = Fixture.createOperation(key: "op-pending-2", at: Fixture.time(4))
            _ = try await store.claimCreate(pending)

            let listed = try await store.pendingCreates()
            try expectEqual(Set(listed.map(\.key)), ["op-pending-1", "op-pending-2"], "keys of pendingCreates")
            try expectEqual(listed.first { $0.key == "op-pending-2" }, pending, "a pending operation as listed")
        },
    ]
}
