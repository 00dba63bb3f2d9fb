import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `ChittyIDMintJob` maps to a row of `chittyid_outbox`.
enum MintJobRow {
    static let columns = "hold_id, attempts, next_attempt_at, last_error"

    static let selectDue = """
        SELECT \(columns) FROM chittyid_outbox WHERE next_attempt_at <= ? \
        ORDER BY next_attempt_at, hold_id LIMIT ?
        """
    static let insert = "INSERT INTO chittyid_outbox (\(columns)) VALUES (\(placeholders(4)))"
    static let lease = "UPDATE chittyid_outbox SET next_attempt_at = ? WHERE hold_id = ?"
    static let delete = "DELETE FROM chittyid_outbox WHERE hold_id = ?"
    static let reschedule = """
        UPDATE chittyid_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE hold_id = ? \
        RETURNING hold_id
        """

    static func binds(for job: ChittyIDMintJob) -> [SQLiteData] {
        [.text(job.holdID), .integer(job.attempts), SQLiteData(job.nextAttemptAt), SQLiteData(job.lastError)]
    }

    static func decode(_ row: SQLiteRow) throws -> ChittyIDMintJob {
        try RowReader(row: row, table: "chittyid_outbox", keyColumn: "hold_id").mintJob()
    }
}
