import ChittyCharge
import HoldStoreColumns
import Foundation
import SQLiteNIO

/// How a `PolicyRevisionRecord` maps to a row of `policy_revisions`; the files are one JSON
/// list (contents base64), written once and read only for rollback and status.
enum PolicyRevisionRow {
    static let columns = "id, directory, files, activated_at, trigger, activated_by, message"

    /// A revision activated again keeps its files and gets the new time and trigger.
    static let upsert = """
        INSERT INTO policy_revisions (\(columns)) VALUES (\(placeholders(7))) \
        ON CONFLICT (id) DO UPDATE SET activated_at = excluded.activated_at, trigger = excluded.trigger, \
        activated_by = excluded.activated_by, message = excluded.message
        """
    static let prune = """
        DELETE FROM policy_revisions WHERE id NOT IN \
        (SELECT id FROM policy_revisions ORDER BY activated_at DESC, rowid DESC LIMIT ?)
        """
    static let selectRecent = "SELECT \(columns) FROM policy_revisions ORDER BY activated_at DESC, rowid DESC LIMIT ?"
    static let selectByID = "SELECT \(columns) FROM policy_revisions WHERE id = ?"

    static func binds(for record: PolicyRevisionRecord) throws -> [SQLiteData] {
        [
            .text(record.id),
            .text(record.directory),
            SQLiteData(try JSONEncoder().encode(record.files)),
            SQLiteData(record.activatedAt),
            .text(record.trigger),
            SQLiteData(record.activatedBy),
            SQLiteData(record.message),
        ]
    }

    static func decode(_ row: SQLiteRow) throws -> PolicyRevisionRecord {
        try RowReader(row: row, table: "policy_revisions", keyColumn: "id").policyRevision()
    }
}
