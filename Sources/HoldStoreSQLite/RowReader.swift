import Foundation
import SQLiteNIO
import ChittyCharge

/// Reads typed columns from a row, turning a missing column or a value of the wrong
/// type into `HoldStoreError.database` instead of a crash: a damaged row must not take
/// the server down.
struct RowReader {
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

    func date(_ column: String) throws -> Date {
        Date(unixMilliseconds: try int(column))
    }

    func optionalDate(_ column: String) throws -> Date? {
        try optionalInt(column).map(Date.init(unixMilliseconds:))
    }

    func data(_ column: String) throws -> Data {
        let value = try value(column)
        switch value {
        case .blob(let buffer): return Data(buffer.readableBytesView)
        // SQLite hands back a zero-length blob as an empty blob, but be lenient with text.
        case .text(let text): return Data(text.utf8)
        default: throw corrupt(column, "a blob", value)
        }
    }

    func optionalData(_ column: String) throws -> Data? {
        if case .null = try value(column) { return nil }
        return try data(column)
    }

    func raw<T: RawRepresentable>(_ type: T.Type, _ column: String) throws -> T where T.RawValue == String {
        let text = try string(column)
        guard let value = T(rawValue: text) else {
            throw HoldStoreError.database("\(context): column \(column) has unknown value \"\(text)\"")
        }
        return value
    }

    func json<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        let text = try string(column)
        do {
            return try JSONColumn.decode(type, from: text)
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not valid JSON for \(T.self): \(error)")
        }
    }

    func metadata(_ column: String) throws -> [String: String] {
        let text = try string(column)
        do {
            return try JSONColumn.decodeMetadata(text)
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not a JSON object of strings: \(error)")
        }
    }
}
