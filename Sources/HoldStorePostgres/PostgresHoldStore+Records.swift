import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

/// How a `ChittyIDMintJob` maps to a row of `chittyid_outbox`.
enum PostgresMintJobRow {
    static let columns = "hold_id, attempts, next_attempt_at, last_error"
    static let insert = "INSERT INTO chittyid_outbox (\(columns)) VALUES ($1, $2, $3, $4)"

    static func values(for job: ChittyIDMintJob) -> [PostgresValue] {
        [.text(job.holdID), .integer(job.attempts), .date(job.nextAttemptAt), .text(job.lastError)]
    }

    static func decode(_ row: PostgresRow) throws -> ChittyIDMintJob {
        try PostgresRowReader(row, table: "chittyid_outbox", keyColumn: "hold_id").mintJob()
    }
}

/// How a `WebhookEventRecord` maps to a row of `webhook_events`.
enum PostgresWebhookEventRow {
    static let columns = "id, type, created_at, payload, hold_id, outcome, received_at"
    /// The id when inserted; no row when any instance recorded the event before.
    static let insertIfNew = """
        INSERT INTO webhook_events (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id
        """
    static let selectByHold = "SELECT \(columns) FROM webhook_events WHERE hold_id = $1 ORDER BY created_at, seq"

    static func values(for event: WebhookEventRecord) -> [PostgresValue] {
        [.text(event.id), .text(event.type), .date(event.created), .bytes(event.payload), .text(event.holdID),
         .text(event.outcome.rawValue), .date(event.receivedAt)]
    }

    static func decode(_ row: PostgresRow) throws -> WebhookEventRecord {
        try PostgresRowReader(row, table: "webhook_events", keyColumn: "id").webhookEvent()
    }
}

/// How a `PolicyDecisionRecord` maps to a row of `policy_decisions`.
enum PostgresPolicyDecisionRow {
    static let columns = "id, hook, revision, source, input, decision, subject, created_at"
    static let insert = "INSERT INTO policy_decisions (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"

    static func values(for record: PolicyDecisionRecord) -> [PostgresValue] {
        [.text(record.id), .text(record.hook), .text(record.revision), .text(record.source), .bytes(record.input),
         .bytes(record.decision), .text(record.subject), .date(record.createdAt)]
    }

    static func decode(_ row: PostgresRow) throws -> PolicyDecisionRecord {
        try PostgresRowReader(row, table: "policy_decisions", keyColumn: "id").policyDecision()
    }
}

/// How a `PolicyRevisionRecord` maps to a row of `policy_revisions` (files as one JSON list).
enum PostgresPolicyRevisionRow {
    static let columns = "id, directory, files, activated_at, trigger, activated_by, message"

    static func values(for record: PolicyRevisionRecord) throws -> [PostgresValue] {
        [.text(record.id), .text(record.directory), .bytes(try JSONEncoder().encode(record.files)), .date(record.activatedAt),
         .text(record.trigger), .text(record.activatedBy), .text(record.message)]
    }

    static func decode(_ row: PostgresRow) throws -> PolicyRevisionRecord {
        try PostgresRowReader(row, table: "policy_revisions", keyColumn: "id").policyRevision()
    }
}

extension PostgresHoldStore {
    // MARK: ChittyIDOutbox

    /// SKIP LOCKED: two instances claiming at once take different jobs.
    public func claimMintJobs(at now: Date, leaseUntil: Date, limit: Int) async throws -> [ChittyIDMintJob] {
        guard limit > 0 else { return [] }
        return try await transaction("claimMintJobs") { db in
            let jobs = try await db.rows("""
                SELECT \(PostgresMintJobRow.columns) FROM chittyid_outbox WHERE next_attempt_at <= $1 \
                ORDER BY next_attempt_at, hold_id LIMIT $2 FOR UPDATE SKIP LOCKED
                """, [.date(now), .integer(limit)], logger: self.logger).map(PostgresMintJobRow.decode)
            if !jobs.isEmpty {
                try await db.rows("UPDATE chittyid_outbox SET next_attempt_at = $1 WHERE hold_id = ANY($2)",
                                  [.date(leaseUntil), .texts(jobs.map(\.holdID))], logger: self.logger)
            }
            return jobs
        }
    }

    public func recordMinted(holdID: String, chittyID: String, at: Date) async throws {
        try await transaction("recordMinted") { db in
            guard let row = try await db.rows("SELECT id, chitty_id FROM holds WHERE id = $1 FOR UPDATE", [.text(holdID)], logger: self.logger).first else {
                throw HoldStoreError.notFound("hold \(holdID)")
            }
            switch try PostgresRowReader(row, table: "holds", keyColumn: "id").optionalString("chitty_id") {
            case chittyID:
                break // Recorded before; only make sure no job is left behind.
            case nil:
                do {
                    try await db.rows(
                        "UPDATE holds SET chitty_id = $1, chitty_id_status = 'minted', updated_at = $2 WHERE id = $3",
                        [.text(chittyID), .date(at), .text(holdID)], logger: self.logger)
                } catch where Self.sqlState(of: error) == "23505" {
                    throw HoldStoreError.conflict("ChittyID \(chittyID) already belongs to another hold")
                }
            case let other?:
                throw HoldStoreError.conflict("hold \(holdID) already has ChittyID \(other)")
            }
            try await db.rows("DELETE FROM chittyid_outbox WHERE hold_id = $1", [.text(holdID)], logger: self.logger)
        }
    }

    public func rescheduleMint(_ job: ChittyIDMintJob) async throws {
        try await writeStatement("rescheduleMint") { db in
            let updated = try await db.rows(
                "UPDATE chittyid_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE hold_id = $4 RETURNING hold_id",
                [.integer(job.attempts), .date(job.nextAttemptAt), .text(job.lastError), .text(job.holdID)], logger: self.logger)
            if updated.isEmpty { throw HoldStoreError.notFound("ChittyID mint job for hold \(job.holdID)") }
        }
    }

    // MARK: WebhookEventLog

    public func recordWebhookEvent(_ event: WebhookEventRecord, update: HoldReplacement?) async throws -> Bool {
        let eventValues = PostgresWebhookEventRow.values(for: event)
        let guardedValues: [PostgresValue]? = update.map { update in
            let expected = update.expected
            return PostgresHoldRow.values(for: update.replacement) + [
                .date(expected.updatedAt), .text(expected.status.rawValue),
                .integer(expected.amountCapturable), .integer(expected.amountReceived),
            ]
        }
        return try await transaction("recordWebhookEvent") { db in
            guard try await !db.rows(PostgresWebhookEventRow.insertIfNew, eventValues, logger: self.logger).isEmpty else { return false }
            if let guardedValues, try await db.rows(PostgresHoldRow.updateIfUnchanged, guardedValues, logger: self.logger).isEmpty {
                // Throwing rolls the event back too: the caller judges it again.
                throw HoldStoreError.conflict("hold \(update?.replacement.id ?? "") changed since it was read")
            }
            return true
        }
    }

    public func webhookEvents(holdID: String) async throws -> [WebhookEventRecord] {
        try await read("webhookEvents(holdID:)") { db in
            try await db.rows(PostgresWebhookEventRow.selectByHold, [.text(holdID)], logger: self.logger).map(PostgresWebhookEventRow.decode)
        }
    }

    // MARK: PolicyDecisionLog

    public func recordDecision(_ record: PolicyDecisionRecord) async throws {
        let values = PostgresPolicyDecisionRow.values(for: record)
        try await writeStatement("recordDecision") { db in
            do {
                try await db.rows(PostgresPolicyDecisionRow.insert, values, logger: self.logger)
            } catch where Self.sqlState(of: error) == "23505" {
                throw HoldStoreError.conflict("policy decision \(record.id) is already recorded")
            }
        }
    }

    /// Oldest first; decisions made in the same millisecond keep their recording order.
    public func decisions(subject: String) async throws -> [PolicyDecisionRecord] {
        try await read("decisions(subject:)") { db in
            try await db.rows(
                "SELECT \(PostgresPolicyDecisionRow.columns) FROM policy_decisions WHERE subject = $1 ORDER BY created_at, seq",
                [.text(subject)], logger: self.logger
            ).map(PostgresPolicyDecisionRow.decode)
        }
    }

    /// Pages in (created_at, id) order from the later of `since` and the cursor.
    public func decisions(since: Date?, after cursor: PolicyDecisionCursor?, limit: Int) async throws -> [PolicyDecisionRecord] {
        let select = "SELECT \(PostgresPolicyDecisionRow.columns) FROM policy_decisions"
        let sql: String
        let values: [PostgresValue]
        if let cursor, since.map({ cursor.createdAt.unixMilliseconds >= $0.unixMilliseconds }) ?? true {
            sql = "\(select) WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3"
            values = [.date(cursor.createdAt), .text(cursor.id), .integer(max(1, limit))]
        } else if let since {
            sql = "\(select) WHERE created_at >= $1 ORDER BY created_at, id LIMIT $2"
            values = [.date(since), .integer(max(1, limit))]
        } else {
            sql = "\(select) ORDER BY created_at, id LIMIT $1"
            values = [.integer(max(1, limit))]
        }
        return try await read("decisions(since:after:limit:)") { db in
            try await db.rows(sql, values, logger: self.logger).map(PostgresPolicyDecisionRow.decode)
        }
    }

    // MARK: PolicyRevisionStore

    public func recordPolicyActivation(_ record: PolicyRevisionRecord, keep: Int) async throws {
        let values = try PostgresPolicyRevisionRow.values(for: record)
        try await transaction("recordPolicyActivation") { db in
            // A revision activated again keeps its files and gets the new time and trigger.
            try await db.rows("""
                INSERT INTO policy_revisions (\(PostgresPolicyRevisionRow.columns)) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                ON CONFLICT (id) DO UPDATE SET activated_at = excluded.activated_at, trigger = excluded.trigger, \
                activated_by = excluded.activated_by, message = excluded.message
                """, values, logger: self.logger)
            try await db.rows("""
                DELETE FROM policy_revisions WHERE id NOT IN \
                (SELECT id FROM policy_revisions ORDER BY activated_at DESC, seq DESC LIMIT $1)
                """, [.integer(max(keep, 1))], logger: self.logger)
        }
    }

    public func policyRevisions(limit: Int) async throws -> [PolicyRevisionRecord] {
        try await read("policyRevisions(limit:)") { db in
            try await db.rows(
                "SELECT \(PostgresPolicyRevisionRow.columns) FROM policy_revisions ORDER BY activated_at DESC, seq DESC LIMIT $1",
                [.integer(limit)], logger: self.logger
            ).map(PostgresPolicyRevisionRow.decode)
        }
    }

    public func policyRevision(id: String) async throws -> PolicyRevisionRecord? {
        try await read("policyRevision(id:)") { db in
            try await db.rows("SELECT \(PostgresPolicyRevisionRow.columns) FROM policy_revisions WHERE id = $1", [.text(id)], logger: self.logger)
                .first.map(PostgresPolicyRevisionRow.decode)
        }
    }

    // MARK: OperationalGaugeSource

    public func operationalGauges(at now: Date, overdueAfter: TimeInterval, expiryMargin: TimeInterval) async throws -> OperationalGauges {
        let values: [PostgresValue] = [
            .date(now), .date(now.addingTimeInterval(-overdueAfter)), .integer(Int((expiryMargin * 1000).rounded())),
        ]
        return try await read("operationalGauges") { db in
            guard let row = try await db.rows("""
                SELECT \
                (SELECT COUNT(*) FROM holds WHERE scheduled_action IS NOT NULL AND scheduled_at <= $1) AS due, \
                (SELECT COUNT(*) FROM holds WHERE scheduled_action IS NOT NULL AND scheduled_at <= $2) AS overdue, \
                (SELECT COUNT(*) FROM holds WHERE status = 'requires_capture' AND capture_before IS NOT NULL \
                AND (scheduled_action IS NULL OR scheduled_at > capture_before - $3)) AS flagged, \
                (SELECT COUNT(*) FROM chittyid_outbox) AS outbox
                """, values, logger: self.logger).first else {
                throw HoldStoreError.database("operationalGauges: the counts returned no row")
            }
            let column = PostgresRowReader(row, table: "gauges", keyColumn: "due")
            return OperationalGauges(
                scheduledActionsDue: try column.int("due"), scheduledActionsOverdue: try column.int("overdue"),
                holdsWithoutActionBeforeExpiry: try column.int("flagged"), chittyIDOutboxDepth: try column.int("outbox"))
        }
    }
}
