import ChittyCharge
import ChittyChargeServer
import Foundation
import Testing

/// Each hold belongs to the client that placed it: another client gets the same 404 as
/// for a hold that does not exist, on every route, and never sees it in a list.
@Suite("Tenant isolation between named clients")
struct TenantIsolationTests {
    static let aliceToken = "alice-token-0123456789"
    static let bobToken = "bob-token-0123456789"
    static let carolToken = "carol-token-0123456789"

    /// Three clients; with `frontdesk`, alice and carol share that group and bob is on his own.
    static func options(frontdesk: Bool = false) -> ServerHarness.Options {
        let group = frontdesk ? ":group=frontdesk" : ""
        var options = ServerHarness.Options()
        options.clientsFile = """
            alice:\(sha256Hex(aliceToken))\(group)
            bob:\(sha256Hex(bobToken))
            carol:\(sha256Hex(carolToken))\(group)
            """
        return options
    }

    static func client(_ harness: ServerHarness, _ token: String) -> APIClient {
        harness.api.with(token: token)
    }

    /// Places a hold as `api`'s client and has the guest authorise it.
    static func authorisedHold(_ harness: ServerHarness, as api: APIClient, email: String) async throws -> String {
        let created = try await api.createHold(["amount": 20_000, "description": "Security deposit", "customer_email": .string(email)])
        guard created.status == 201, let id = created.json["id"]?.stringValue else {
            throw HarnessError("create failed: \(created.status) \(created.text)")
        }
        guard try await harness.authorise(id).status == 200 else { throw HarnessError("confirm failed") }
        return id
    }

    static func listedIDs(_ reply: APIClient.Reply) -> [String] {
        guard case .array(let items)? = reply.json["data"] else { return [] }
        return items.compactMap { $0["id"]?.stringValue }
    }

    @Test func anotherClientsHoldIsNotFoundOnEveryRoute() async throws {
        try await ServerHarness.run(Self.options()) { harness in
            let alice = Self.client(harness, Self.aliceToken)
            let bob = Self.client(harness, Self.bobToken)
            let id = try await Self.authorisedHold(harness, as: bob, email: "guest-of-bob@example.com")
            _ = await harness.holds.chittyIDOutbox.mint(holdID: id)
            let chittyID = try #require(try await harness.store.hold(id: id)?.chittyID)
            let retrievesBefore = await harness.stripeCalls("GET", pathSuffix: "/v1/payment_intents/\(id)").count

            // What a hold that does not exist answers, to compare with.
            let missing = "pi_000000000000000000000000"
            let unknown = try await alice.call(.GET, "/api/holds/\(missing)")
            #expect(unknown.status == 404)
            let notFoundCode = try #require(unknown.json["code"]?.stringValue)

            let attempts: [(String, APIClient.Reply)] = [
                ("show", try await alice.call(.GET, "/api/holds/\(id)")),
                ("refresh", try await alice.call(.GET, "/api/holds/\(id)?refresh=true")),
                ("events", try await alice.call(.GET, "/api/holds/\(id)/events")),
                ("capture", try await alice.call(.POST, "/api/holds/\(id)/capture", json: ["amount_to_capture": 5_000])),
                ("cancel", try await alice.call(.POST, "/api/holds/\(id)/cancel")),
                ("by-chitty-id", try await alice.call(.GET, "/api/holds/by-chitty-id/\(chittyID)")),
            ]
            for (route, reply) in attempts {
                #expect(reply.status == 404, "\(route): \(reply.status) \(reply.text)")
                #expect(reply.json["code"]?.stringValue == notFoundCode, "\(route): \(reply.text)")
                #expect(!reply.text.contains("guest-of-bob"), "\(route) leaked the guest's email")
            }

            // Lists leave it out, and it is no cursor for alice: the same answer as an unknown id.
            let list = try await alice.call(.GET, "/api/holds")
            #expect(list.status == 200)
            #expect(!Self.listedIDs(list).contains(id))
            #expect(!list.text.contains("guest-of-bob"))
            let afterBobs = try await alice.call(.GET, "/api/holds?starting_after=\(id)")
            let afterUnknown = try await alice.call(.GET, "/api/holds?starting_after=\(missing)")
            #expect(afterBobs.status == afterUnknown.status)
            #expect(afterBobs.status != 200)
            #expect(afterBobs.json["code"] == afterUnknown.json["code"])

            // Nothing happened at Stripe on alice's behalf.
            #expect(await harness.emulator.paymentIntent(id: id)?.status == "requires_capture")
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").isEmpty)
            #expect(await harness.stripeCalls("POST", pathSuffix: "/cancel").isEmpty)
            #expect(await harness.stripeCalls("GET", pathSuffix: "/v1/payment_intents/\(id)").count == retrievesBefore)

            // bob still has it, whole.
            let own = try await bob.call(.GET, "/api/holds/\(id)")
            #expect(own.status == 200)
            #expect(own.json["customer_email"] == "guest-of-bob@example.com")
            #expect(Self.listedIDs(try await bob.call(.GET, "/api/holds")) == [id])
            #expect(try await bob.call(.GET, "/api/holds/\(id)/events").status == 200)
            #expect(try await bob.call(.GET, "/api/holds/by-chitty-id/\(chittyID)").status == 200)
            // The shared token's client is a client like any other.
            #expect(try await harness.api.call(.GET, "/api/holds/\(id)").status == 404)
            #expect(Self.listedIDs(try await harness.api.call(.GET, "/api/holds")).isEmpty)
        }
    }

    @Test func clientsOfOneGroupShareTheirHolds() async throws {
        try await ServerHarness.run(Self.options(frontdesk: true)) { harness in
            let alice = Self.client(harness, Self.aliceToken)
            let bob = Self.client(harness, Self.bobToken)
            let carol = Self.client(harness, Self.carolToken)
            let alices = try await Self.authorisedHold(harness, as: alice, email: "guest-a@example.com")
            let bobs = try await Self.authorisedHold(harness, as: bob, email: "guest-b@example.com")

            // carol is in alice's group: she sees alice's hold and may act on it.
            #expect(try await carol.call(.GET, "/api/holds/\(alices)").status == 200)
            #expect(Self.listedIDs(try await carol.call(.GET, "/api/holds")) == [alices])
            let captured = try await carol.call(.POST, "/api/holds/\(alices)/capture")
            #expect(captured.status == 200, "\(captured.text)")
            #expect(await harness.emulator.paymentIntent(id: alices)?.status == "succeeded")
            // The hold is still alice's: the group shares it, it does not move it.
            #expect(try await harness.store.hold(id: alices)?.client == "alice")

            // Neither of them sees bob's, nor bob theirs.
            #expect(try await carol.call(.GET, "/api/holds/\(bobs)").status == 404)
            #expect(Self.listedIDs(try await alice.call(.GET, "/api/holds")) == [alices])
            #expect(try await bob.call(.GET, "/api/holds/\(alices)").status == 404)
            #expect(Self.listedIDs(try await bob.call(.GET, "/api/holds")) == [bobs])
        }
    }

    @Test func idempotencyKeysBelongToOneClient() async throws {
        try await ServerHarness.run(Self.options(frontdesk: true)) { harness in
            let alice = Self.client(harness, Self.aliceToken)
            let bob = Self.client(harness, Self.bobToken)
            let carol = Self.client(harness, Self.carolToken)
            let key = ["Idempotency-Key": "booking-7"]
            let bobs = try await bob.createHold(["amount": 9_900, "description": "Deposit", "customer_email": "b@example.com"], headers: key)
            #expect(bobs.status == 201)
            // The same key with the same body, then with another: alice gets her own hold
            // each time, never bob's response (nor a 409 that says bob used the key).
            for amount in [9_900, 8_800] {
                let reply = try await alice.createHold(["amount": .integer(Int64(amount)), "description": "Deposit"], headers: key)
                #expect(reply.status == (amount == 9_900 ? 201 : 409), "\(reply.text)")
                #expect(reply.json["id"] != bobs.json["id"])
                #expect(!reply.text.contains("b@example.com"))
            }
            // Not even within a group: carol shares alice's holds, not her keys.
            let carols = try await carol.createHold(["amount": 9_900, "description": "Deposit"], headers: key)
            #expect(carols.status == 201)
            #expect(carols.header("Idempotent-Replayed") == nil)
            #expect(await harness.emulator.paymentIntents().count == 3)
        }
    }

    /// Operators read every client's holds at `/admin/holds…` with the admin token; they
    /// cannot capture or cancel there, and client tokens do not open it.
    @Test func theAdminTokenReadsEveryHoldAndActsOnNone() async throws {
        try await ServerHarness.run(Self.options()) { harness in
            let alice = Self.client(harness, Self.aliceToken)
            let bob = Self.client(harness, Self.bobToken)
            let aliceHold = try await Self.authorisedHold(harness, as: alice, email: "a@example.com")
            let bobHold = try await Self.authorisedHold(harness, as: bob, email: "b@example.com")
            let admin = ["Authorization": "Bearer \(ServerHarness.adminToken)"]

            let all = try await harness.api.send(.GET, "/admin/holds", headers: admin)
            #expect(all.status == 200, "\(all.text)")
            #expect(Set(Self.listedIDs(all)) == [aliceHold, bobHold])
            let onlyBob = try await harness.api.send(.GET, "/admin/holds?owner=bob", headers: admin)
            #expect(Self.listedIDs(onlyBob) == [bobHold])
            let one = try await harness.api.send(.GET, "/admin/holds/\(bobHold)", headers: admin)
            #expect(one.status == 200)
            #expect(one.json["owner"] == "bob")
            #expect(try await harness.api.send(.GET, "/admin/holds/\(bobHold)/events", headers: admin).status == 200)

            // Reading only: no capture or cancel under /admin.
            for action in ["capture", "cancel"] {
                let reply = try await harness.api.send(.POST, "/admin/holds/\(bobHold)/\(action)", headers: admin)
                #expect(reply.status == 404, "\(action) → \(reply.text)")
            }
            #expect(await harness.stripeCalls("POST", pathSuffix: "/capture").isEmpty)
            // A client token does not open /admin, and a client cannot ask for another owner.
            #expect(try await harness.api.send(.GET, "/admin/holds", headers: ["Authorization": "Bearer \(Self.aliceToken)"]).status == 401)
            #expect(try await alice.call(.GET, "/admin/holds").status == 401)
            let ownerFilter = try await alice.call(.GET, "/api/holds?owner=bob")
            #expect(ownerFilter.status == 400, "\(ownerFilter.text)")
            #expect(ownerFilter.json["details"]?["field"] == "owner")
            let own = try await alice.call(.GET, "/api/holds/\(aliceHold)")
            #expect(own.json["owner"] == "alice")
        }
    }
}
