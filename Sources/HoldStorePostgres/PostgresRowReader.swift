import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

/// The typed reads of a PostgreSQL row by column name; the records are decoded from them by
/// `StoredColumns` (HoldStoreColumns), as the SQLite store's are.
struct PostgresRowReader: StoredColumns {
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

    func optionalData(_ column: String) throws -> Data? {
        guard var buffer = try decode(ByteBuffer?.self, column) else { return nil }
        return buffer.readData(length: buffer.readableBytes) ?? Data()
    }
}
