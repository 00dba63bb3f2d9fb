import Foundation
import SQLiteNIO
import ChittyCharge
import HoldStoreColumns

/// Reads typed columns from a row, turning a missing column or a value of the wrong
/// type into `HoldStoreError.database` instead of a crash: a damaged row must not take
/// the server down.
struct RowReader: StoredColumns {
    let row: SQLiteRow
    let table: String
    /// The column that names the row in error messages.
    let keyColumn: String

    /// Worked out only when there is an error to report, to keep decoding cheap.
    var context: String {
        "\(table) \(row.column(keyColumn)?.string ?? "?")"
    }

    private func value(_ column: String) throws -> SQLiteData {
        guard let value = row.column(column) else {
            throw HoldStoreError.database("\(context): column \(column) is missing")
        }
        return value
    }

    private func corrupt(_ column: String, _ expected: String, _ value: SQLiteData) -> HoldStoreError {
        .database("\(context): column \(column) should be \(expected), found \(value)")
    }

    func string(_ column: String) throws -> String {
        let value = try value(column)
        guard case .text(let text) = value else { throw corrupt(column, "text", value) }
        return text
    }

    func optionalString(_ column: String) throws -> String? {
        let value = try value(column)
        switch value {
        case .null: return nil
        case .text(let text): return text
        default: throw corrupt(column, "text or null", value)
        }
    }

    func int(_ column: String) throws -> Int {
        let value = try value(column)
        guard case .integer(let integer) = value else { throw corrupt(column, "an integer", value) }
        return Int(integer)
    }

    func optionalInt(_ column: String) throws -> Int? {
        let value = try value(column)
        switch value {
        case .null: return nil
        case .integer(let integer): return Int(integer)
        default: throw corrupt(column, "an integer or null", value)
        }
    }

    func optionalData(_ column: String) throws -> Data? {
        let value = try value(column)
        switch value {
        case .null: return nil
        case .blob(let buffer): return Data(buffer.readableBytesView)
        // SQLite hands back a zero-length blob as an empty blob, but be lenient with text.
        case .text(let text): return Data(text.utf8)
        default: throw corrupt(column, "a blob", value)
        }
    }
}
