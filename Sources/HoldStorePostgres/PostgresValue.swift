import ChittyCharge
import Foundation
import HoldStoreColumns
import JSON
import PostgresNIO

/// One bind of a statement. Times are BIGINT Unix milliseconds, as in the SQLite store, so
/// both keep the same precision and `db copy` moves values unchanged.
enum PostgresValue: Sendable {
    case text(String?)
    case integer(Int?)
    case bytes(Data?)
    case texts([String])

    static func date(_ date: Date?) -> PostgresValue {
        .integer(date?.unixMilliseconds)
    }

    static func failure(_ failure: HoldServiceError?) -> PostgresValue {
        .bytes(failure.map { JSONCoding.encode($0) })
    }

    static func receipt(_ receipt: HoldOperationReceipt?) -> PostgresValue {
        switch receipt {
        case .captured(let captured): .bytes(JSONCoding.encode(captured))
        case .canceled(let canceled): .bytes(JSONCoding.encode(canceled))
        case nil: .bytes(nil)
        }
    }
}

extension PostgresQuery {
    /// `sql` with `$1…$n` bound to `values` in order.
    init(_ sql: String, _ values: [PostgresValue] = []) {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let text): bindings.append(text)
            case .integer(let integer): bindings.append(integer)
            case .bytes(let data): bindings.append(data.map { ByteBuffer(bytes: $0) })
            case .texts(let texts): bindings.append(texts)
            }
        }
        self.init(unsafeSQL: sql, binds: bindings)
    }
}
