import ChittyCharge
import Foundation
import JSON
import SQLiteNIO

/// How an operation's outcome is kept: the domain value (a receipt, or the failure the
/// client was told) as JSON in the `*_body` column. Before schema version 6 an HTTP status
/// was kept beside it; the body written then is the same JSON, so old rows read as they are.
enum StoredOutcome {
    static func bind(_ failure: HoldServiceError?) -> SQLiteData {
        SQLiteData(failure.map { JSONCoding.encode($0) })
    }

    static func bind(_ receipt: HoldOperationReceipt?) -> SQLiteData {
        switch receipt {
        case .captured(let captured): SQLiteData(JSONCoding.encode(captured))
        case .canceled(let canceled): SQLiteData(JSONCoding.encode(canceled))
        case nil: .null
        }
    }
}

extension RowReader {
    func optionalFailure(_ column: String) throws -> HoldServiceError? {
        try optionalData(column).map { try decoded(HoldServiceError.self, $0, column) }
    }

    /// The receipt of a capture or a cancel, as `kind` says which.
    func optionalReceipt(_ column: String, kind: HoldOperationKind) throws -> HoldOperationReceipt? {
        guard let body = try optionalData(column) else { return nil }
        return switch kind {
        case .capture: .captured(try decoded(CaptureReceipt.self, body, column))
        case .cancel: .canceled(try decoded(CancelReceipt.self, body, column))
        }
    }

    private func decoded<T: Decodable>(_ type: T.Type, _ body: Data, _ column: String) throws -> T {
        do {
            return try JSONCoding.decode(type, from: body)
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not a stored \(T.self): \(error)")
        }
    }
}
