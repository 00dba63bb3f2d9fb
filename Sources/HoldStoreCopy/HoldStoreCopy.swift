import Crypto
import Foundation
import HoldStorePostgres
import HoldStoreSQLite
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SQLiteNIO

/// Moves a SQLite hold store into PostgreSQL (`chittycharge db copy`): every table, row for
/// row, then checks row counts and a SHA-256 per table on both sides.
///
/// Safe to run again: rows already in the target are kept as they are (`ON CONFLICT DO
/// NOTHING`), so a copy that was interrupted is finished by running it again, and a
/// repeated copy inserts nothing and verifies. Both schemas are migrated first by their
/// stores; the source is opened as a server would (its single-server lock), so no `serve`
/// can write to it meanwhile.
public enum HoldStoreCopy {
    public struct TableReport: Sendable, Equatable {
        public var table: String
        public var sourceRows: Int
        public var targetRows: Int
        /// Rows this run inserted (0 on a repeated copy).
        public var inserted: Int
        public var checksumsMatch: Bool
        public var matches: Bool { sourceRows == targetRows && checksumsMatch }
    }

    public enum CopyError: Error, CustomStringConvertible, Equatable {
        case sourceMissing(String)
        case targetNotEmpty([String: Int])
        case verificationFailed([TableReport])

        public var description: String {
            switch self {
            case .sourceMissing(let path):
                "there is no SQLite database at \(path)"
            case .targetNotEmpty(let counts):
                "the target database already has rows (\(counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))); "
                    + "nothing was copied. Pass --allow-non-empty to finish or repeat a copy into it (rows already there are kept)"
            case .verificationFailed(let reports):
                "the copy does not match its source in " + reports.filter { !$0.matches }.map { report in
                    "\(report.table) (rows \(report.sourceRows) → \(report.targetRows), checksum \(report.checksumsMatch ? "equal" : "different"))"
                }.joined(separator: ", ")
            }
        }
    }

    static let pageSize = 500

    public static func copy(fromSQLite path: String, to settings: PostgresConnectionSettings, allowNonEmptyTarget: Bool,
                            logger: Logger) async throws -> [TableReport] {
        guard FileManager.default.fileExists(atPath: path) else { throw CopyError.sourceMissing(path) }
        let source = try await SQLiteHoldStore.open(path: path, logger: logger, readerCount: 1)
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        do {
            let reports = try await copyOpened(path: path, settings: settings, allowNonEmptyTarget: allowNonEmptyTarget,
                                               threadPool: threadPool, logger: logger)
            try await source.close()
            try await threadPool.shutdownGracefully()
            return reports
        } catch {
            try? await source.close()
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    private static func copyOpened(path: String, settings: PostgresConnectionSettings, allowNonEmptyTarget: Bool,
                                   threadPool: NIOThreadPool, logger: Logger) async throws -> [TableReport] {
        // The stores migrate both schemas; the copy itself reads and writes rows directly.
        await (try PostgresHoldStore.open(settings: settings, logger: logger)).close()
        let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger,
                                                     on: MultiThreadedEventLoopGroup.singleton.any())
        let target = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: try settings.singleConnectionConfiguration(), id: 1, logger: logger
        ).get()
        do {
            _ = try await reader.query("PRAGMA query_only = ON")
            if !allowNonEmptyTarget {
                var counts: [String: Int] = [:]
                for table in CopiedTable.all {
                    let rows = try await count(table, in: target, logger: logger)
                    if rows > 0 { counts[table.name] = rows }
                }
                guard counts.isEmpty else { throw CopyError.targetNotEmpty(counts) }
            }
            var reports: [TableReport] = []
            for table in CopiedTable.all {
                let inserted = try await copy(table, from: reader, to: target, logger: logger)
                let (sourceRows, sourceSum) = try await sqliteChecksum(table, reader)
                let (targetRows, targetSum) = try await postgresChecksum(table, target, logger: logger)
                reports.append(TableReport(table: table.name, sourceRows: sourceRows, targetRows: targetRows, inserted: inserted,
                                           checksumsMatch: sourceSum == targetSum))
            }
            try await reader.close()
            try await target.close()
            guard reports.allSatisfy(\.matches) else { throw CopyError.verificationFailed(reports) }
            return reports
        } catch {
            try? await reader.close()
            try? await target.close()
            throw error
        }
    }

    private static func count(_ table: CopiedTable, in target: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await target.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name)"), logger: logger).collect()
        return try rows.first?.decode(Int.self) ?? 0
    }

    /// Pages through the source in rowid order (insertion order, so ties in time keep their
    /// order in the target's identity column), each page one transaction in the target.
    private static func copy(_ table: CopiedTable, from reader: SQLiteConnection, to target: PostgresConnection, logger: Logger) async throws -> Int {
        var lastRowID: Int = -1
        var inserted = 0
        while true {
            let page = try await reader.query(
                "SELECT rowid AS copy_rowid, \(table.columnList) FROM \(table.name) WHERE rowid > ? ORDER BY rowid LIMIT ?",
                [.integer(lastRowID), .integer(pageSize)])
            guard !page.isEmpty else { return inserted }
            var bindings = PostgresBindings(capacity: page.count * table.columns.count)
            var tuples: [String] = []
            for row in page {
                var placeholders: [String] = []
                for column in table.columns {
                    switch row.column(column.name) ?? .null {
                    case .integer(let value): bindings.append(value)
                    case .float(let value): bindings.append(value)
                    case .text(let value): bindings.append(value)
                    case .blob(let value): bindings.append(value)
                    case .null: bindings.appendNull()
                    }
                    placeholders.append("$\(bindings.count)")
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
                lastRowID = row.column("copy_rowid")?.integer ?? lastRowID
            }
            let sql = "INSERT INTO \(table.name) (\(table.columnList)) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING RETURNING 1"
            _ = try await target.query("BEGIN", logger: logger).collect()
            do {
                inserted += try await target.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect().count
                _ = try await target.query("COMMIT", logger: logger).collect()
            } catch {
                _ = try? await target.query("ROLLBACK", logger: logger).collect()
                throw error
            }
        }
    }

    private static func sqliteChecksum(_ table: CopiedTable, _ reader: SQLiteConnection) async throws -> (Int, String) {
        let rows = try await reader.query("SELECT \(table.sqliteCanonicalColumns) FROM \(table.name) ORDER BY \(table.key)")
        var digest = RowDigest()
        for row in rows {
            digest.add(row.columns.map { $0.data.string })
        }
        return (rows.count, digest.finish())
    }

    private static func postgresChecksum(_ table: CopiedTable, _ target: PostgresConnection, logger: Logger) async throws -> (Int, String) {
        let rows = try await target.query(
            PostgresQuery(unsafeSQL: "SELECT \(table.postgresCanonicalColumns) FROM \(table.name) ORDER BY \(table.postgresKeyOrder)"),
            logger: logger
        ).collect()
        var digest = RowDigest()
        for row in rows {
            digest.add(try row.map { try $0.decode(String?.self) })
        }
        return (rows.count, digest.finish())
    }
}

/// SHA-256 over rows of values, each NULL or length-prefixed, so no two different tables
/// of rows hash alike by accident of concatenation.
struct RowDigest {
    private var hash = SHA256()

    mutating func add(_ values: [String?]) {
        var line = ""
        for value in values {
            if let value { line += "v\(value.utf8.count):\(value)" } else { line += "n" }
        }
        line += "\n"
        hash.update(data: Data(line.utf8))
    }

    func finish() -> String {
        hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
