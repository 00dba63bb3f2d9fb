import Foundation

/// A capture's receipt (the earlier service's fields), kept with the operation so a retry
/// with the same amount gets exactly this back.
public struct CaptureReceipt: Sendable, Equatable, Codable {
    public var id: String
    public var status: String
    public var amountCaptured: Int
    /// The part of the hold that was not captured, and so released.
    public var amountRemaining: Int
    public var estimatedProcessingFee: Int
    public var processingFeeNote: String
    public var capturedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, status
        case amountCaptured = "amount_captured"
        case amountRemaining = "amount_remaining"
        case estimatedProcessingFee = "estimated_processing_fee"
        case processingFeeNote = "processing_fee_note"
        case capturedAt = "captured_at"
    }

    public static let processingFeeNote = "Estimate at Stripe's standard US card rate (2.9% + 30 cents); the actual fee is on the Stripe balance transaction"

    /// 2.9% + 30 cents, rounded to the cent.
    public static func estimatedFee(forCaptured amount: Int) -> Int {
        amount > 0 ? Int((Double(amount) * 0.029).rounded()) + 30 : 0
    }

    public init(hold: Hold, capturedAt: Date) {
        id = hold.id
        status = hold.status.rawValue
        amountCaptured = hold.amountReceived
        amountRemaining = max(0, hold.amount - hold.amountReceived)
        estimatedProcessingFee = Self.estimatedFee(forCaptured: hold.amountReceived)
        processingFeeNote = Self.processingFeeNote
        self.capturedAt = capturedAt
    }
}

/// What `POST /api/holds/{id}/cancel` answers.
public struct CancelReceipt: Sendable, Equatable, Codable {
    public var id: String
    public var status: String
    public var canceledAt: Date

    enum CodingKeys: String, CodingKey {
        case id, status
        case canceledAt = "canceled_at"
    }

    public init(hold: Hold, canceledAt: Date) {
        id = hold.id
        status = hold.status.rawValue
        self.canceledAt = canceledAt
    }
}

/// What a finished capture or cancel answered.
public enum HoldOperationReceipt: Sendable, Equatable {
    case captured(CaptureReceipt)
    case canceled(CancelReceipt)

    /// The receipt of `kind` done to `hold` (as Stripe left it) at `now`.
    public init(_ kind: HoldOperationKind, for hold: Hold, at now: Date) {
        switch kind {
        case .capture: self = .captured(CaptureReceipt(hold: hold, capturedAt: hold.capturedAt ?? now))
        case .cancel: self = .canceled(CancelReceipt(hold: hold, canceledAt: hold.canceledAt ?? now))
        }
    }
}
