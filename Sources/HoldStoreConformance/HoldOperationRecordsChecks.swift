import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let holdOperationRecordsChecks: [HoldStoreCheck] = [
        HoldStoreCheck("claimOperation starts the first operation on a hold and stores it") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            try await Fixture.placeHold(in: store, id: "pi_2")
            let capture = Fixture.holdOperation(key: "capture-1", holdID: "pi_1", kind: .capture, amount: 8_000, at: Fixture.time(7))
            let cancel = Fixture.holdOperation(key: "cancel-2", holdID: "pi_2", kind: .cancel, amount: nil, at: Fixture.time(8))
            try expectEqual(try await store.claimOperation(capture), .started(capture), "claim of a capture")
            try expectEqual(try await store.claimOperation(cancel), .started(cancel), "claim of a cancel on another hold")
            try expectEqual(try await store.pendingOperations(), [capture, cancel], "pendingOperations after both claims")
        },

        HoldStoreCheck("a second claimOperation on a hold returns the pending one") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let first = Fixture.holdOperation(key: "capture-1", holdID: "pi_1")
            _ = try await store.claimOperation(first)
            let second = Fixture.holdOperation(key: "cancel-1", holdID: "pi_1", kind: .cancel, amount: nil, at: Fixture.time(50))
            try expectEqual(try await store.claimOperation(second), .existing(first), "second claim while the first is pending")
            try expectEqual(try await store.pendingOperations(), [first], "the refused operation must not be stored")
        },

        HoldStoreCheck("holdOperation(key:) reads an operation in each state, nil for an unknown key") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            try await Fixture.placeHold(in: store, id: "pi_2")
            let capture = Fixture.holdOperation(key: "capture-1", holdID: "pi_1")
            _ = try await store.claimOperation(capture)
            try expectEqual(try await store.holdOperation(key: "capture-1"), capture, "the pending operation")
            let cancel = Fixture.holdOperation(key: "cancel-2", holdID: "pi_2", kind: .cancel, amount: nil, at: Fixture.time(8))
            _ = try await store.claimOperation(cancel)
            let failure = Fixture.failure(.paymentIntentUnexpectedState)
            try await store.failOperation(key: "cancel-2", failure: failure, at: Fixture.time(100))
            var failed = cancel
            failed.state = .failed
            failed.failure = failure
            failed.updatedAt = Fixture.time(100)
            try expectEqual(try await store.holdOperation(key: "cancel-2"), failed, "the failed operation, with the failure its client was told")
            try expectEqual(try await store.holdOperation(key: "nothing"), nil, "an unknown key")
        },

        HoldStoreCheck("after failOperation a new claim starts") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let first = Fixture.holdOperation(key: "capture-1", holdID: "pi_1")
            _ = try await store.claimOperation(first)
            let failure = Fixture.failure(.paymentIntentUnexpectedState)
            try await store.failOperation(key: "capture-1", failure: failure, at: Fixture.time(100))

            try expectEqual(try await store.pendingOperations(), [], "pendingOperations after failOperation")
            let retry = Fixture.holdOperation(key: "capture-2", holdID: "pi_1", at: Fixture.time(200))
            try expectEqual(try await store.claimOperation(retry), .started(retry), "claim after the first one failed")
            let third = Fixture.holdOperation(key: "capture-3", holdID: "pi_1", at: Fixture.time(300))
            try expectEqual(try await store.claimOperation(third), .existing(retry), "claim while the retry is pending")
        },

        HoldStoreCheck("after completeOperation no new claim starts") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1")
            let first = Fixture.holdOperation(key: "capture-1", holdID: "pi_1")
            _ = try await store.claimOperation(first)
            var captured = hold
            captured.status = .succeeded
            try await store.completeOperation(key: "capture-1", hold: captured, receipt: Fixture.receipt(), at: Fixture.time(100))

            let later = Fixture.holdOperation(key: "cancel-1", holdID: "pi_1", kind: .cancel, amount: nil, at: Fixture.time(200))
            guard case .existing(let existing) = try await store.claimOperation(later) else {
                throw ConformanceFailure("a claim after a succeeded capture started a new operation", location: #fileID)
            }
            try expectEqual(existing.key, "capture-1", "key of the existing operation")
            try expectEqual(existing.state, .succeeded, "state of the existing operation")
            try expectEqual(existing.receipt, Fixture.receipt(), "receipt of the existing operation")
            try expectEqual(try await store.pendingOperations(), [], "the refused operation must not be stored")
        },

        HoldStoreCheck("20 concurrent claimOperation calls start exactly one operation") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            let claims = try await withThrowingTaskGroup(of: OperationClaim<HoldOperation>.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await store.claimOperation(Fixture.holdOperation(key: "capture-\(index)", holdID: "pi_1"))
                    }
                }
                var claims: [OperationClaim<HoldOperation>] = []
                for try await claim in group { claims.append(claim) }
                return claims
            }
            let started = claims.compactMap { claim -> HoldOperation? in
                if case .started(let operation) = claim { return operation }
                return nil
            }
            try expectEqual(started.count, 1, "claims that started")
            let winner = started[0]
            for case .existing(let existing) in claims {
                try expectEqual(existing, winner, "the operation a losing claim was given")
            }
            try expectEqual(try await store.pendingOperations().map(\.key), [winner.key], "pendingOperations")
        },

        HoldStoreCheck("completeOperation stores the hold and the receipt") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1")
            let operation = Fixture.holdOperation(key: "capture-1", holdID: "pi_1", amount: 10_000)
            _ = try await store.claimOperation(operation)
            var captured = hold
            captured.status = .succeeded
            captured.amountCapturable = 0
            captured.amountReceived = 10_000
            captured.capturedAt = Fixture.time(500)
            captured.updatedAt = Fixture.time(500)
            let receipt = Fixture.receipt()
            try await store.completeOperation(key: "capture-1", hold: captured, receipt: receipt, at: Fixture.time(501))

            try expectEqual(try await store.hold(id: "pi_1"), captured, "hold after completeOperation")
            var succeeded = operation
            succeeded.state = .succeeded
            succeeded.receipt = receipt
            succeeded.updatedAt = Fixture.time(501)
            let probe = Fixture.holdOperation(key: "cancel-probe", holdID: "pi_1", kind: .cancel, amount: nil, at: Fixture.time(600))
            try expectEqual(try await store.claimOperation(probe), .existing(succeeded), "the succeeded operation, as a later claim gets it")
            try expectEqual(try await store.pendingOperations(), [], "pendingOperations after completeOperation")
        },

        HoldStoreCheck("completeOperation keeps what others wrote after the operation read the hold") { store in
            try await Fixture.placeHold(in: store, id: "pi_1")
            _ = try await store.claimOperation(Fixture.holdOperation(key: "capture-1", holdID: "pi_1", amount: 10_000))
            // The operation reads the hold, then calls Stripe...
            let read = try unwrap(try await store.hold(id: "pi_1"), "hold pi_1")
            // ...meanwhile a webhook moves Stripe's deadline and the outbox mints the ChittyID.
            var webhooked = read
            webhooked.captureBefore = Fixture.time(9 * 86_400_000)
            webhooked.stripeStateAt = Fixture.time(300)
            webhooked.updatedAt = Fixture.time(300)
            try expectEqual(
                try await store.recordWebhookEvent(event("evt_1", holdID: "pi_1", created: 300), update: HoldReplacement(expected: read, replacement: webhooked)),
                true, "the webhook's write")
            try await store.recordMinted(holdID: "pi_1", chittyID: "CHITTY-AUTH-1", at: Fixture.time(400))
            // ...and completes with Stripe's answer applied to what it read.
            var captured = read
            captured.status = .succeeded
            captured.amountCapturable = 0
            captured.amountReceived = 10_000
            captured.capturedAt = Fixture.time(500)
            captured.stripeStateAt = Fixture.time(500)
            captured.updatedAt = Fixture.time(500)
            try await store.completeOperation(key: "capture-1", hold: captured, receipt: Fixture.receipt(), at: Fixture.time(501))

            let stored = try unwrap(try await store.hold(id: "pi_1"), "hold pi_1 after completeOperation")
            try expectEqual(stored.captureBefore, webhooked.captureBefore, "capture_before the webhook wrote")
            try expectEqual(stored.chittyID, "CHITTY-AUTH-1", "the ChittyID minted meanwhile")
            try expectEqual(stored.chittyIDStatus, .minted, "the ChittyID status")
            try expectEqual(stored.status, .succeeded, "the status the operation learned")
            try expectEqual(stored.amountCapturable, 0, "amount_capturable the operation learned")
            try expectEqual(stored.amountReceived, 10_000, "amount_received the operation learned")
            try expectEqual(stored.capturedAt, Fixture.time(500), "captured_at")
            try expectEqual(stored.stripeStateAt, Fixture.time(500), "Stripe's state time")
            try expectEqual(stored.updatedAt, Fixture.time(500), "updated_at")
        },

        HoldStoreCheck("completeOperation keeps a captured_at or canceled_at already stored") { store in
            let hold = try await Fixture.placeHold(in: store, id: "pi_1")
            _ = try await store.claimOperation(Fixture.holdOperation(key: "cancel-1", holdID: "pi_1", kind: .cancel, amount: nil))
            // A webhook saw the cancel first.
            var webhooked = hold
            webhooked.status = .canceled
            webhooked.amountCapturable = 0
            webhooked.canceledAt = Fixture.time(200)
            webhooked.stripeStateAt = Fixture.time(200)
            webhooked.updatedAt = Fixture.time(250)
            _ = try await store.recordWebhookEvent(event("evt_1", holdID: "pi_1", created: 200), update: HoldReplacement(expected: hold, replacement: webhooked))
            var canceled = hold
            canceled.status = .canceled
            canceled.amountCapturable = 0
            canceled.canceledAt = Fixture.time(500)
            canceled.stripeStateAt = Fixture.time(500)
            canceled.updatedAt = Fixture.time(500)
            try await store.completeOperation(key: "cancel-1", hold: canceled, receipt: Fixture.receipt(.cancel), at: Fixture.time(501))
            try expectEqual(try await store.hold(id: "pi_1")?.canceledAt, Fixture.time(200), "canceled_at, first seen by the webhook")
        },

        HoldStoreCheck("pendingOperations lists only pending operations") { store in
            for id in ["pi_1", "pi_2", "pi_3"] {
                try await Fixture.placeHold(in: store, id: id)
            }
            let pending = Fixture.holdOperation(key: "capture-1", holdID: "pi_1", at: Fixture.time(1))
            _ = try await store.claimOperation(pending)
            _ = try await store.claimOperation(Fixture.holdOperation(key: "cancel-2", holdID: "pi_2", kind: .cancel, amount: nil))
            try await store.failOperation(key: "cancel-2", failure: Fixture.failure(.paymentIntentUnexpectedState), at: Fixture.time(2))
            let hold3 = try unwrap(try await store.hold(id: "pi_3"), "hold pi_3")
            _ = try await store.claimOperation(Fixture.holdOperation(key: "capture-3", holdID: "pi_3"))
            try await store.completeOperation(key: "capture-3", hold: hold3, receipt: Fixture.receipt(holdID: "pi_3"), at: Fixture.time(3))
            try expectEqual(try await store.pendingOperations(), [pending], "pendingOperations")
        },
    ]
}
