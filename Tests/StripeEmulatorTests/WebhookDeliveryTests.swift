import ChittyChargeTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StripeAPI
import Testing

@testable import StripeEmulator

/// What a webhook endpoint saw, and how it is told to answer.
actor WebhookReceiver {
    struct Post: Sendable {
        var body: Data
        var signature: String?
        var contentType: String?
        var userAgent: String?
        var eventID: String?
        var eventType: String?
    }

    private(set) var posts: [Post] = []
    /// Per event type, how many more posts to answer with 500 before answering 200.
    private var failuresRemaining: [String: Int] = [:]
    /// Moved forward on every failure, so a retry is signed with a later timestamp.
    private let clock: ManualWallClock?

    init(clock: ManualWallClock? = nil) {
        self.clock = clock
    }

    func fail(_ eventType: String, times: Int) {
        failuresRemaining[eventType] = times
    }

    func receive(_ post: Post) -> Int {
        posts.append(post)
        guard let type = post.eventType, let remaining = failuresRemaining[type], remaining > 0 else { return 200 }
        failuresRemaining[type] = remaining - 1
        clock?.advance(by: 1)
        return 500
    }

    func posts(eventID: String) -> [Post] { posts.filter { $0.eventID == eventID } }
    func posts(type: String) -> [Post] { posts.filter { $0.eventType == type } }

    /// Serves the receiver on a free local port for the duration of `body`.
    static func serve(clock: ManualWallClock? = nil,
                      _ body: @Sendable (_ url: String, _ receiver: WebhookReceiver) async throws -> Void) async throws {
        let receiver = WebhookReceiver(clock: clock)
        let router = Router(context: BasicRequestContext.self)
        router.post("/webhooks/stripe") { request, _ -> Response in
            let raw = Data(buffer: try await request.body.collect(upTo: 1 << 20))
            // Only to route the scripted answers: tests verify the raw bytes themselves.
            let event = (try? JSONSerialization.jsonObject(with: raw)) as? [String: Any]
            let status = await receiver.receive(Post(
                body: raw,
                signature: HTTPField.Name("Stripe-Signature").flatMap { request.headers[$0] },
                contentType: request.headers[.contentType],
                userAgent: request.headers[.userAgent],
                eventID: event?["id"] as? String,
                eventType: event?["type"] as? String))
            return Response(status: HTTPResponse.Status(code: status))
        }
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "webhook-receiver") { _ in SwiftLogNoOpLogHandler() })
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)/webhooks/stripe", receiver)
        }
    }
}

@Suite struct WebhookDeliveryTests {
    static let secret = "whsec_test_emulator_webhooks_0123456789"
    /// Retries in milliseconds so the tests stay fast; the shape is the compressed default's.
    static let quickRetries = EmulatedWebhookRetryPolicy(
        maximumAttempts: 4, initialDelay: .milliseconds(10), maximumDelay: .milliseconds(50), requestTimeout: .seconds(5))

    @Test func createAndConfirmDeliversASignedAmountCapturableUpdated() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        try await WebhookReceiver.serve { url, receiver in
            await emulator.configureWebhookEndpoint(url: url, secret: Self.secret, retryPolicy: Self.quickRetries)
            let hold = await emulator.placeHold()
            #expect(hold.string("status") == "requires_capture")
            #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))

            let event = try #require(await emulator.events().first { $0.type == "payment_intent.amount_capturable_updated" })
            let posts = await receiver.posts(eventID: event.id)
            let post = try #require(posts.first)
            #expect(posts.count == 1)
            #expect(post.body == event.json.encoded(), "the body is the event JSON, byte for byte")
            #expect(post.contentType == "application/json; charset=utf-8")
            #expect(post.userAgent == "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
            let signature = try #require(post.signature)
            #expect(signature.hasPrefix("t=\(Int(clock.now().timeIntervalSince1970)),v1="), "signed with the emulator's clock")
            try StripeWebhookSignature.verify(payload: post.body, header: signature, secret: Self.secret, now: clock.now())
            #expect(throws: StripeWebhookSignature.Failure.noMatchingSignature) {
                try StripeWebhookSignature.verify(payload: post.body, header: signature, secret: "whsec_other", now: clock.now())
            }
            let body = try #require(try JSONSerialization.jsonObject(with: post.body) as? [String: Any])
            let object = try #require((body["data"] as? [String: Any])?["object"] as? [String: Any])
            #expect(object["id"] as? String == hold.string("id"))
            #expect((object["amount_capturable"] as? NSNumber)?.intValue == 5_000)

            // Every event of the flow went out, each exactly once, all delivered first time.
            let deliveries = await emulator.webhookDeliveries()
            #expect(Set(deliveries.map(\.eventID)) == Set(await emulator.events().map(\.id)))
            #expect(deliveries.allSatisfy { $0.delivered && $0.attempts == 1 && $0.lastHTTPStatus == 200 })
            #expect(await receiver.posts.count == deliveries.count)
        }
    }

    @Test func aFailingEndpointIsRetriedAndEachRetryIsSignedAfresh() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        try await WebhookReceiver.serve(clock: clock) { url, receiver in
            await receiver.fail("payment_intent.amount_capturable_updated", times: 2)
            await emulator.configureWebhookEndpoint(url: url, secret: Self.secret, retryPolicy: Self.quickRetries)
            _ = await emulator.placeHold()
            #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))

            let event = try #require(await emulator.events().first { $0.type == "payment_intent.amount_capturable_updated" })
            let delivery = try #require(await emulator.webhookDeliveries(eventID: event.id).first)
            #expect(delivery.delivered)
            #expect(delivery.attempts == 3)
            #expect(delivery.lastHTTPStatus == 200)
            #expect(delivery.lastError == nil)

            let posts = await receiver.posts(eventID: event.id)
            #expect(posts.count == 3)
            #expect(Set(posts.map(\.body)).count == 1, "every attempt carries the same body")
            let signatures = posts.compactMap(\.signature)
            #expect(Set(signatures).count == 3, "each attempt is signed with a fresh timestamp")
            // The receiver moved the clock on each failure; the last signature is current.
            let last = try #require(posts.last)
            try StripeWebhookSignature.verify(payload: last.body, header: last.signature, secret: Self.secret, now: clock.now())
        }
    }

    @Test func anEndpointThatNeverSucceedsIsGivenUpOn() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        try await WebhookReceiver.serve { url, receiver in
            await receiver.fail("payment_intent.created", times: 100)
            await emulator.configureWebhookEndpoint(url: url, secret: Self.secret, retryPolicy: Self.quickRetries)
            _ = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual")
            #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            let delivery = try #require(await emulator.webhookDeliveries().first)
            #expect(delivery.state == .failed)
            #expect(delivery.attempts == Self.quickRetries.maximumAttempts)
            #expect(delivery.lastHTTPStatus == 500)
            #expect(await receiver.posts.count == Self.quickRetries.maximumAttempts)
        }
    }

    @Test func anUnreachableEndpointRecordsTheNetworkError() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        // Port 1 on loopback: nothing listens there, so every connection is refused.
        // AsyncHTTPClient keeps retrying a refused connection until the request's
        // deadline, so each attempt lasts the whole (here short) request timeout.
        await emulator.configureWebhookEndpoint(
            url: "http://127.0.0.1:1/webhooks", secret: Self.secret,
            retryPolicy: EmulatedWebhookRetryPolicy(
                maximumAttempts: 2, initialDelay: .milliseconds(10), requestTimeout: .milliseconds(300)))
        _ = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual")
        #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
        let delivery = try #require(await emulator.webhookDeliveries().first)
        #expect(delivery.state == .failed)
        #expect(delivery.attempts == 2)
        #expect(delivery.lastHTTPStatus == nil)
        #expect(delivery.lastError != nil, "\(delivery)")
    }

    @Test func redeliverSendsTheSameEventAgain() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        try await WebhookReceiver.serve { url, receiver in
            await emulator.configureWebhookEndpoint(url: url, secret: Self.secret, retryPolicy: Self.quickRetries)
            _ = await emulator.placeHold()
            #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            let event = try #require(await emulator.events().first { $0.type == "payment_intent.amount_capturable_updated" })

            #expect(await emulator.redeliver(eventID: event.id))
            #expect(await emulator.redeliver(eventID: "evt_unknown") == false)
            #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))

            let posts = await receiver.posts(eventID: event.id)
            #expect(posts.count == 2)
            #expect(posts.first?.body == posts.last?.body)
            let deliveries = await emulator.webhookDeliveries(eventID: event.id)
            #expect(deliveries.count == 2)
            #expect(deliveries.allSatisfy { $0.delivered })
        }
    }

    @Test func eventsCanBeSentOutOfOrder() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        try await WebhookReceiver.serve { url, receiver in
            await emulator.configureWebhookEndpoint(
                url: url, secret: Self.secret, retryPolicy: Self.quickRetries, automaticDelivery: false)
            let hold = await emulator.placeHold()
            let id = try #require(hold.string("id"))
            _ = await emulator.send("POST", "/v1/payment_intents/\(id)/cancel")
            #expect(await emulator.webhookDeliveries().isEmpty, "nothing is sent without automatic delivery")

            let chosen = await emulator.events()
                .filter { ["payment_intent.amount_capturable_updated", "payment_intent.canceled"].contains($0.type) }
            #expect(chosen.map(\.type) == ["payment_intent.amount_capturable_updated", "payment_intent.canceled"])
            let deliveries = await emulator.deliverEvents(chosen.reversed().map(\.id))
            #expect(deliveries.count == 2)
            #expect(deliveries.allSatisfy { $0.delivered })
            #expect(await receiver.posts.map(\.eventType) == ["payment_intent.canceled", "payment_intent.amount_capturable_updated"])
        }
    }

    @Test func removingTheEndpointStopsDelivery() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        try await WebhookReceiver.serve { url, receiver in
            await emulator.configureWebhookEndpoint(url: url, secret: Self.secret, retryPolicy: Self.quickRetries)
            _ = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&capture_method=manual")
            #expect(await emulator.waitForWebhookDeliveries(timeout: .seconds(20)))
            await emulator.removeWebhookEndpoint()
            _ = await emulator.placeHold()
            #expect(await emulator.webhookDeliveries().count == 1)
            let lastEventID = try #require(await emulator.events().last?.id)
            #expect(await emulator.redeliver(eventID: lastEventID) == false)
            #expect(await receiver.posts.count == 1)
        }
    }

    @Test func retryScheduleDoublesUpToTheCap() {
        let policy = EmulatedWebhookRetryPolicy.compressed
        #expect(policy.maximumAttempts == 8)
        #expect(policy.delay(beforeAttempt: 2) == .milliseconds(200))
        #expect(policy.delay(beforeAttempt: 3) == .milliseconds(400))
        #expect(policy.delay(beforeAttempt: 7) == .milliseconds(6_400))
        #expect(policy.delay(beforeAttempt: 8) == .seconds(10))
        #expect(policy.delay(beforeAttempt: 1_000) == .seconds(10))
    }
}

/// The events issue 4 relies on are recorded where the status machine makes the change.
@Suite struct WebhookEventTypeTests {
    func types(_ emulator: StripeEmulator, from start: Int) async -> [String] {
        Array(await emulator.events().map(\.type).dropFirst(start))
    }

    @Test func holdPlacedThenCaptured() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        #expect(await types(emulator, from: 0)
            == ["payment_intent.created", "charge.succeeded", "payment_intent.amount_capturable_updated"])
        let before = await emulator.events().count
        _ = await emulator.send("POST", "/v1/payment_intents/\(id)/capture", form: "amount_to_capture=4000")
        #expect(await types(emulator, from: before) == ["charge.captured", "payment_intent.succeeded"])
    }

    @Test func holdCanceledReleasesTheCharge() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let id = try #require(await emulator.placeHold().string("id"))
        let before = await emulator.events().count
        _ = await emulator.send("POST", "/v1/payment_intents/\(id)/cancel")
        #expect(await types(emulator, from: before) == ["charge.refunded", "payment_intent.canceled"])
    }

    @Test func holdExpiresByTheClock() async throws {
        let clock = ManualWallClock(emulatorTestStart)
        let emulator = StripeEmulator(clock: clock)
        let id = try #require(await emulator.placeHold().string("id"))
        let before = await emulator.events().count
        clock.advance(by: 8 * 86_400)
        #expect(await emulator.expireLapsedHolds() == [id])
        #expect(await types(emulator, from: before) == ["charge.expired", "payment_intent.canceled"])
        let canceled = try #require(await emulator.events().last)
        #expect(canceled.object["cancellation_reason"] == "automatic")
    }

    @Test func declineAndAuthenticationRequired() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let declined = await emulator.placeHold(paymentMethod: "pm_card_chargeDeclined")
        #expect(declined.status == 402)
        #expect(await types(emulator, from: 0)
            == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"])
        let before = await emulator.events().count
        let challenged = await emulator.placeHold(paymentMethod: "pm_card_authenticationRequired")
        #expect(challenged.string("status") == "requires_action")
        #expect(await types(emulator, from: before) == ["payment_intent.created", "payment_intent.requires_action"])
    }
}
