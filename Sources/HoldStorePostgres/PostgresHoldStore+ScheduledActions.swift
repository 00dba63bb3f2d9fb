import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

extension PostgresHoldStore {
    static let setSchedule = """
        UPDATE holds SET scheduled_action = $2, scheduled_at = $3, scheduled_amount = $4, scheduled_revision = $5, \
        scheduled_state = $6, scheduled_owner = $7, scheduled_lease_until = $8 WHERE id = $1 RETURNING id
        """
    /// The claim's compare-and-set in one statement (the row lock makes two instances'
    /// claims take turns). Binds: id, the action's kind, time, amount and revision, the
    /// lease's owner and end, now.
    static let claimSchedule = """
        UPDATE holds SET scheduled_state = 'running', scheduled_owner = $6, scheduled_lease_until = $7 \
        WHERE id = $1 AND scheduled_action = $2 AND scheduled_at = $3 AND scheduled_amount IS NOT DISTINCT FROM $4::BIGINT \
        AND scheduled_revision = $5 \
        AND ((scheduled_state = 'pending' AND scheduled_at <= $8) \
        OR (scheduled_state = 'running' AND (scheduled_owner IS NOT DISTINCT FROM $6::TEXT OR scheduled_lease_until IS NULL \
        OR scheduled_lease_until <= $8))) \
        RETURNING id
        """
    static let finishSchedule = """
        UPDATE holds SET scheduled_action = NULL, scheduled_at = NULL, scheduled_amount = NULL, scheduled_revision = NULL, \
        scheduled_state = NULL, scheduled_owner = NULL, scheduled_lease_until = NULL \
        WHERE id = $1 AND scheduled_state = 'running' AND scheduled_owner = $2 RETURNING id
        """
    static let selectDueActions = """
        SELECT \(PostgresHoldRow.readColumns) FROM holds WHERE scheduled_action IS NOT NULL AND scheduled_at <= $1 \
        ORDER BY scheduled_at, id LIMIT $2
        """
    static let selectPendingActionsNotFrom = """
        SELECT \(PostgresHoldRow.readColumns) FROM holds WHERE scheduled_state = 'pending' AND scheduled_revision != $1 \
        ORDER BY scheduled_at, id LIMIT $2
        """

    public func setScheduledAction(_ action: ScheduledAction?, holdID: String) async throws {
        let values: [PostgresValue] = if let action {
            [.text(holdID), .text(action.kind.rawValue), .date(action.at), .integer(action.amount), .text(action.revision),
             .text(action.state.rawValue), .text(action.lease?.owner), .date(action.lease?.until)]
        } else {
            [.text(holdID), .text(nil), .integer(nil), .integer(nil), .text(nil), .text(nil), .text(nil), .integer(nil)]
        }
        try await writeStatement("setScheduledAction") { db in
            if try await db.rows(Self.setSchedule, values, logger: self.logger).isEmpty {
                throw HoldStoreError.notFound("hold \(holdID)")
            }
        }
    }

    public func claimScheduledAction(_ action: ScheduledAction, holdID: String, lease: ScheduledAction.Lease, at now: Date) async throws -> Bool {
        let values: [PostgresValue] = [
            .text(holdID), .text(action.kind.rawValue), .date(action.at), .integer(action.amount), .text(action.revision),
            .text(lease.owner), .date(lease.until), .date(now),
        ]
        return try await writeStatement("claimScheduledAction") { db in
            try await !db.rows(Self.claimSchedule, values, logger: self.logger).isEmpty
        }
    }

    public func finishScheduledAction(holdID: String, owner: String, outcome: WebhookEventRecord) async throws -> Bool {
        let eventValues = PostgresWebhookEventRow.values(for: outcome)
        return try await transaction("finishScheduledAction") { db in
            guard try await !db.rows(Self.finishSchedule, [.text(holdID), .text(owner)], logger: self.logger).isEmpty else { return false }
            try await db.rows(PostgresWebhookEventRow.insertIfNew, eventValues, logger: self.logger)
            return true
        }
    }

    public func holdsWithDueActions(at now: Date, limit: Int) async throws -> [Hold] {
        try await read("holdsWithDueActions") { db in
            try await db.rows(Self.selectDueActions, [.date(now), .integer(max(1, limit))], logger: self.logger).map(PostgresHoldRow.decode)
        }
    }

    public func holdsWithPendingActions(notFrom revision: String, limit: Int) async throws -> [Hold] {
        try await read("holdsWithPendingActions") { db in
            try await db.rows(Self.selectPendingActionsNotFrom, [.text(revision), .integer(max(1, limit))], logger: self.logger)
                .map(PostgresHoldRow.decode)
        }
    }
}
