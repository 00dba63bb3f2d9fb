import ChittyCharge
import Foundation

/// Records for the checks. Every time is a whole millisecond, the precision stores are
/// required to keep.
enum Fixture {
    static let baseMilliseconds = 1_780_000_000_123

    /// `offset` milliseconds after the base time.
    static func time(_ offset: Int) -> Date {
        Date(timeIntervalSince1970: Double(baseMilliseconds + offset) / 1000)
    }

    static func params(amount: Int = 12_500, metadata: [String: String] = [:]) -> CreatePaymentIntentParams {
        CreatePaymentIntentParams(amount: amount, currency: "usd", description: "Security deposit", metadata: metadata)
    }

    static func createOperation(
        key: String, client: String = "frontdesk", clientIdempotencyKey: String? = nil,
        requestHash: String = "hash-1", params: CreatePaymentIntentParams = params(),
        propertyID: String? = nil, tenantID: String? = nil, at: Date = time(0)
    ) -> CreateOperation {
        CreateOperation(
            key: key, client: client, clientIdempotencyKey: clientIdempotencyKey, requestHash: requestHash,
            params: params, tier: "standard", tierLimit: 50_000, policyRevision: "rev-1",
            propertyID: propertyID, tenantID: tenantID, createdAt: at, updatedAt: at)
    }

    static func hold(
        id: String, operationKey: String, client: String = "frontdesk", owner: String? = nil,
        status: PaymentIntentStatus = .requiresCapture,
        propertyID: String? = nil, tenantID: String? = nil, chittyID: String? = nil, createdAt: Date = time(0)
    ) -> Hold {
        Hold(
            id: id, chittyID: chittyID, chittyIDStatus: chittyID == nil ? .pending : .minted, status: status,
            amount: 12_500, amountCapturable: status == .requiresCapture ? 12_500 : 0, currency: "usd",
            description: "Security deposit", customerEmail: "guest@example.com", propertyID: propertyID,
            tenantID: tenantID, metadata: ["unit": "4B"], clientSecret: "\(id)_secret_x", client: client,
            owner: owner, tier: "standard", tierLimit: 50_000, policyRevision: "rev-1", createOperationKey: operationKey,
            createdAt: createdAt, updatedAt: createdAt, captureBefore: createdAt.addingTimeInterval(7 * 86_400))
    }

    /// Places a hold the way the service does (claim, then complete): the only way the
    /// protocol offers to add one.
    @discardableResult
    static func placeHold(
        in store: any HoldStore, id: String, client: String = "frontdesk", owner: String? = nil,
        status: PaymentIntentStatus = .requiresCapture,
        propertyID: String? = nil, tenantID: String? = nil, chittyID: String? = nil,
        createdAt: Date = time(0), completedAt: Date? = nil
    ) async throws -> Hold {
        let operation = createOperation(
            key: "create-\(id)", client: client, propertyID: propertyID, tenantID: tenantID, at: createdAt)
        guard case .started = try await store.claimCreate(operation) else {
            throw ConformanceFailure("claimCreate of a fresh operation for \(id) did not start it", location: #fileID)
        }
        var hold = hold(
            id: id, operationKey: operation.key, client: client, owner: owner, status: status, propertyID: propertyID,
            tenantID: tenantID, chittyID: chittyID, createdAt: createdAt)
        hold.updatedAt = completedAt ?? createdAt
        try await store.completeCreate(key: operation.key, hold: hold)
        return hold
    }

    /// How many holds wait for their ChittyID, as `/metrics` reads it.
    static func outboxDepth(_ store: any HoldStore) async throws -> Int {
        try await store.operationalGauges(at: time(0), overdueAfter: 60, expiryMargin: 0).chittyIDOutboxDepth
    }

    /// What a finished capture (or cancel) of a hold of 12,500 answered.
    static func receipt(_ kind: HoldOperationKind = .capture, holdID: String = "pi_1") -> HoldOperationReceipt {
        var hold = hold(id: holdID, operationKey: "op-\(holdID)", status: kind == .capture ? .succeeded : .canceled)
        hold.amountReceived = kind == .capture ? hold.amount : 0
        // Whole seconds: a receipt keeps its times as ISO 8601 seconds, as the API shows them.
        return HoldOperationReceipt(kind, for: hold, at: Date(timeIntervalSince1970: (time(100).timeIntervalSince1970).rounded(.down)))
    }

    /// A failure the client was told, with nested details that must survive the round trip.
    static func failure(_ kind: HoldServiceError.Kind = .cardDeclined) -> HoldServiceError {
        HoldServiceError(kind, "The card was declined: insufficient funds", details: [
            "stripe_code": "card_declined", "decline_code": "insufficient_funds", "attempt": ["number": 2, "retryable": false],
        ])
    }

    static func holdOperation(
        key: String, holdID: String, kind: HoldOperationKind = .capture, amount: Int? = 12_500, at: Date = time(0)
    ) -> HoldOperation {
        HoldOperation(key: key, holdID: holdID, kind: kind, amount: amount, createdAt: at, updatedAt: at)
    }
}
