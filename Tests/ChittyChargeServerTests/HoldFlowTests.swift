import ChittyCharge
import Foundation
import JSON
import Testing

@Suite("Hold API end to end (live sockets, Stripe emulator over HTTP, SQLite)")
struct HoldFlowTests {
    @Test func healthNamesTheWiring() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.GET, "/health")
            #expect(reply.status == 200)
            let json = reply.json
            #expect(json["status"] == "healthy")
            #expect(json["service"] == "chittycharge")
            #expect(json["version"] == "1.0.0")
            #expect(json["stripe_connected"] == true)
            #expect(json["stripe_mode"] == "emulator")
            #expect(json["chittyid_connected"] == true)
            #expect(json["policy_revision"]?.stringValue == harness.policies.revision.id)
            #expect(reply.header("X-Request-Id") != nil)
        }
    }

    @Test func placeAuthoriseCaptureThenReadBack() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.api.createHold([
                "amount": 20_000, "description": "Security deposit", "customer_email": "guest@example.com",
                "property_id": "prop_1", "tenant_id": "ten_1",
                "metadata": ["guest_tier": "VERIFIED_GUEST", "nights": 3, "vip": true],
            ])
            #expect(created.status == 201, "\(created.text)")
            let hold = created.json
            let id = try #require(hold["id"]?.stringValue)
            #expect(id.hasPrefix("pi_"))
            #expect(hold["status"] == "requires_payment_method")
            #expect(hold["amount"] == 20_000)
            #expect(hold["amount_capturable"] == 0)
            #expect(hold["currency"] == "usd")
            #expect(hold["tier"] == "VERIFIED_GUEST")
            #expect(hold["tier_limit"] == 500_000)
            #expect(hold["client_secret"]?.stringValue?.hasPrefix(id + "_secret_") == true)
            #expect(hold["created_at"]?.stringValue != nil)
            let chittyID = try #require(hold["chitty_id"]?.stringValue)
            #expect(hold["chitty_id_status"] == "minted")
            #expect(hold["policy_revision"]?.stringValue == harness.policies.revision.id)

            // Stripe got the hold as a manual-capture intent with string metadata.
            let create = try #require(await harness.stripeCalls("POST", pathSuffix: "/v1/payment_intents").first)
            #expect(create.params["capture_method"] == "manual")
            #expect(create.params["metadata[nights]"] == "3")
            #expect(create.params["metadata[vip]"] == "true")
            #expect(create.params["metadata[property_id]"] == "prop_1")
            #expect(create.params["receipt_email"] == "guest@example.com")
            #expect(create.idempotencyKey?.hasPrefix("chittycharge-create-") == true)

            // The guest authorises in the browser; a refresh reads Stripe's new state.
            #expect(try await harness.authorise(id).status == 200)
            let refreshed = try await harness.api.call(.GET, "/api/holds/\(id)?refresh=true")
            #expect(refreshed.status == 200)
            #expect(refreshed.json["status"] == "requires_capture")
            #expect(refreshed.json["amount_capturable"] == 20_000)
            #expect(refreshed.json["capture_before"]?.stringValue != nil)
            #expect(refreshed.json["chitty_id"]?.stringValue == chittyID)
            #expect(refreshed.json["client_secret"] == nil)

            let captured = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 7_500])
            #expect(captured.status == 200, "\(captured.text)")
            #expect(captured.json["id"]?.stringValue == id)
            #expect(captured.json["status"] == "succeeded")
            #expect(captured.json["amount_captured"] == 7_500)
            #expect(captured.json["amount_remaining"] == 12_500)
            #expect(captured.json["estimated_processing_fee"] == 248)
            #expect(captured.json["processing_fee_note"]?.stringValue != nil)
            #expect(captured.json["captured_at"]?.stringValue != nil)

            // The same capture again: the first result, and Stripe is not asked twice.
            let again = try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 7_500])
            #expect(again.status == 200)
            #expect(again.body == captured.body)
            // Another amount, or a cancel, of a captured hold: conflict.
            #expect(try await harness.api.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 100]).status == 409)
            let cancel = try await harness.api.call(.POST, "/api/holds/\(id)/cancel")
            #expect(cancel.status == 409)
            #expect(cancel.json["code"] == "hold_already_captured")
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").count == 1)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").isEmpty)

            // Read back from the store, by id and by ChittyID.
            let stored = try await harness.api.call(.GET, "/api/holds/\(id)")
            #expect(stored.json["status"] == "succeeded")
            #expect(stored.json["amount_received"] == 7_500)
            let byChittyID = try await harness.api.call(.GET, "/api/holds/by-chitty-id/\(chittyID)")
            #expect(byChittyID.status == 200)
            #expect(byChittyID.json["id"]?.stringValue == id)
            #expect(try await harness.api.call(.GET, "/api/holds/by-chitty-id/CHITTY-NOPE").status == 404)
        }
    }

    @Test func cancelReleasesAndIsIdempotent() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.authorisedHold()
            let canceled = try await harness.api.call(.POST, "/api/holds/\(id)/cancel")
            #expect(canceled.status == 200, "\(canceled.text)")
            #expect(canceled.json["status"] == "canceled")
            #expect(canceled.json["canceled_at"]?.stringValue != nil)
            let again = try await harness.api.call(.POST, "/api/holds/\(id)/cancel")
            #expect(again.status == 200)
            #expect(again.body == canceled.body)
            let capture = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(capture.status == 409)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").count == 1)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").isEmpty)
            #expect(await harness.emulator.paymentIntent(id: id)?.status == "canceled")
        }
    }

    @Test func captureOfAnUnauthorisedHoldIsAConflictFromStripe() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.api.createHold(["amount": 5_000, "description": "Deposit"])
            let id = try #require(created.json["id"]?.stringValue)
            let capture = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(capture.status == 409, "\(capture.text)")
            #expect(capture.json["code"] == "payment_intent_unexpected_state")
            // The refusal freed the hold: once authorised it can be captured.
            #expect(try await harness.authorise(id).status == 200)
            let retry = try await harness.api.call(.POST, "/api/holds/\(id)/capture")
            #expect(retry.status == 200, "\(retry.text)")
            #expect(retry.json["amount_captured"] == 5_000)
        }
    }

    @Test func listFiltersAndPagesNewestFirst() async throws {
        try await ServerHarness.run { harness in
            var ids: [String] = []
            for index in 0..<5 {
                let reply = try await harness.api.createHold([
                    "amount": .integer(Int64(1_000 + index)), "description": .string("Deposit \(index)"),
                    "property_id": .string(index.isMultiple(of: 2) ? "even" : "odd"),
                ])
                ids.append(try #require(reply.json["id"]?.stringValue))
            }
            let firstPage = try await harness.api.call(.GET, "/api/holds?limit=2")
            #expect(firstPage.status == 200)
            #expect(firstPage.json["has_more"] == true)
            let cursor = try #require(firstPage.json["next_starting_after"]?.stringValue)
            var seen: [String] = []
            if case .array(let items)? = firstPage.json["data"] { seen = items.compactMap { $0["id"]?.stringValue } }
            var next: String? = cursor
            while let after = next {
                let page = try await harness.api.call(.GET, "/api/holds?limit=2&starting_after=\(after)")
                #expect(page.status == 200)
                if case .array(let items)? = page.json["data"] { seen += items.compactMap { $0["id"]?.stringValue } }
                next = page.json["has_more"] == true ? page.json["next_starting_after"]?.stringValue : nil
            }
            #expect(Set(seen) == Set(ids))
            #expect(seen.count == 5)
            let even = try await harness.api.call(.GET, "/api/holds?property_id=even")
            if case .array(let items)? = even.json["data"] {
                #expect(items.count == 3)
                #expect(items.allSatisfy { $0["property_id"] == "even" })
            } else {
                Issue.record("no data array: \(even.text)")
            }
            let none = try await harness.api.call(.GET, "/api/holds?status=succeeded")
            #expect(none.json["data"] == .array([]))
        }
    }

    @Test func idempotencyKeyReplaysTheFirstResultAndRefusesAnotherBody() async throws {
        try await ServerHarness.run { harness in
            let body: [String: JSONValue] = ["amount": 9_900, "description": "Deposit"]
            let first = try await harness.api.createHold(body, headers: ["Idempotency-Key": "booking-42"])
            #expect(first.status == 201)
            let second = try await harness.api.createHold(body, headers: ["Idempotency-Key": "booking-42"])
            #expect(second.status == 201)
            #expect(second.json["id"] == first.json["id"])
            #expect(second.header("Idempotent-Replayed") == "true")
            let different = try await harness.api.createHold(["amount": 9_901, "description": "Deposit"], headers: ["Idempotency-Key": "booking-42"])
            #expect(different.status == 409)
            #expect(different.json["code"] == "idempotency_key_reused")
            // Another client may use the same key for its own request.
            var partner = harness.api
            partner.token = ServerHarness.partnerToken
            let partnerReply = try await partner.createHold(body, headers: ["Idempotency-Key": "booking-42"])
            #expect(partnerReply.status == 201)
            #expect(partnerReply.json["id"] != first.json["id"])
            #expect(await harness.emulator.paymentIntents().count == 2)
        }
    }

    @Test func tierRefusalNeverReachesStripeAndIsStoredWithItsRevision() async throws {
        try await ServerHarness.run { harness in
            let refused = try await harness.api.createHold([
                "amount": 300_000, "description": "Deposit", "metadata": ["guest_tier": "NEW_GUEST"],
            ], headers: ["Idempotency-Key": "too-big"])
            #expect(refused.status == 400)
            #expect(refused.json["error"] == "Amount exceeds limit for NEW_GUEST tier")
            #expect(refused.json["details"]?["current_tier"] == "NEW_GUEST")
            #expect(refused.json["details"]?["max_amount"] == 250_000)
            #expect(refused.json["details"]?["policy_revision"]?.stringValue == harness.policies.revision.id)
            #expect(await harness.emulator.calls().isEmpty)
            #expect(try await harness.store.pendingCreates().isEmpty)
            // The refusal is on record: the same request again gets the same answer.
            let replay = try await harness.api.createHold([
                "amount": 300_000, "description": "Deposit", "metadata": ["guest_tier": "NEW_GUEST"],
            ], headers: ["Idempotency-Key": "too-big"])
            #expect(replay.body == refused.body)
            let tooSmall = try await harness.api.createHold(["amount": 10, "description": "Deposit"])
            #expect(tooSmall.status == 400)
            #expect(await harness.emulator.calls().isEmpty)
        }
    }

    @Test func brokenHoldLimitPolicyRefusesWith503() async throws {
        let options = ServerHarness.Options(extraPolicy: """
            local original = hold_limit
            function hold_limit(req)
              if req.metadata.explode then error("boom") end
              return original(req)
            end
            """)
        try await ServerHarness.run(options) { harness in
            let reply = try await harness.api.createHold(["amount": 1_000, "description": "Deposit", "metadata": ["explode": true]])
            #expect(reply.status == 503)
            #expect(reply.json["code"] == "policy_error")
            #expect(await harness.emulator.calls().isEmpty)
            // The same revision still decides other requests.
            #expect(try await harness.api.createHold(["amount": 1_000, "description": "Deposit"]).status == 201)
        }
    }

    @Test func withoutStripeHoldRoutesAnswer503AndHealthSaysSo() async throws {
        var options = ServerHarness.Options()
        options.stripeConfigured = false
        try await ServerHarness.run(options) { harness in
            let health = try await harness.api.send(.GET, "/health")
            #expect(health.json["stripe_connected"] == false)
            let reply = try await harness.api.createHold(["amount": 1_000, "description": "Deposit"])
            #expect(reply.status == 503)
            #expect(reply.json["code"] == "stripe_not_configured")
            #expect(try await harness.api.call(.GET, "/api/holds/pi_123").status == 503)
        }
    }
}
