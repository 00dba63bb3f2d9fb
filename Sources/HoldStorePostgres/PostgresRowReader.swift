import ChittyCharge
import Foundation
import JSON
import PostgresNIO

/// Reads typed columns from a row, turning a missing column or a value of the wrong type
/// into `HoldStoreError.database` naming the table, row and column: a damaged row must not
/// take the server down.
struct PostgresRowReader {
    let row: PostgresRandomAccessRow
    let table: String
    /// The column that names the row in error messages.
    let keyColumn: String

    init(_ row: PostgresRow, table: String, keyColumn: String) {
        self.row = row.makeRandomAccess()
        self.table = table
        self.keyColumn = keyColumn
    }

    var context: String {
        let key = (try? row[keyColumn].decode(String.self)) ?? "?"
        return "\(table) \(key)"
    }

    private func decode<T: PostgresDecodable>(_ type: T.Type, _ column: String) throws -> T {
        guard row.contains(column) else {
            throw HoldStoreError.database("\(context): column \(column) is missing")
        }
        do {
            return try row[column].decode(T.self)
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not \(T.self): \(error)")
        }
    }

    func string(_ column: String) throws -> String { try decode(String.self, column) }
    func optionalString(_ column: String) throws -> String? { try decode(String?.self, column) }
    func int(_ column: String) throws -> Int { try decode(Int.self, column) }
    func optionalInt(_ column: String) throws -> Int? { try decode(Int?.self, column) }
    func date(_ column: String) throws -> Date { Date(unixMilliseconds: try int(column)) }
    func optionalDate(_ column: String) throws -> Date? { try optionalInt(column).map(Date.init(unixMilliseconds:)) }

    func data(_ column: String) throws -> Data {
        var buffer = try decode(ByteBuffer.self, column)
        return buffer.readData(length: buffer.readableBytes) ?? Data()
    }

    func optionalData(_ column: String) throws -> Data? {
        guard var buffer = try decode(ByteBuffer?.self, column) else { return nil }
        return buffer.readData(length: buffer.readableBytes) ?? Data()
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
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not valid JSON for \(T.self): \(error)")
        }
    }

    func metadata(_ column: String) throws -> [String: String] {
        let text = try string(column)
        if text == "{}" { return [:] }
        do {
            return try JSONCoding.decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not a JSON object of strings: \(error)")
        }
    }

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
