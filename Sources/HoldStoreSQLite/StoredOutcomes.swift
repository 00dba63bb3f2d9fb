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
