import ChittyCharge
import HoldStoreColumns
import SQLiteNIO

/// How a `Hold` maps to a row of `holds`, and the statements that read and write it.
enum HoldRow {
    /// Column order of `insert`'s and `update`'s binds (see `binds(for:)`).
    static let columns = """
        id, chitty_id, chitty_id_status, status, amount, amount_capturable, amount_received, currency, \
        description, customer_email, property_id, tenant_id, metadata, client_secret, client, tier, \
        tier_limit, policy_revision, create_operation_key, created_at, updated_at, capture_before, \
        captured_at, canceled_at, stripe_state_at
        """

    /// Binds as `insertBinds(for:)`: the owner and the client's typed metadata are written only
    /// here (updating a hold never changes whose it is, nor what the client sent).
    static let insert = "INSERT INTO holds (\(columns), owner, client_metadata) VALUES (\(placeholders(27)))"
    /// What reads return: the written columns plus the scheduled action, which only the
    /// scheduling statements below write, and the owner.
    static let readColumns = columns
        + ", scheduled_action, scheduled_at, scheduled_amount, scheduled_revision, scheduled_state, scheduled_owner, "
        + "scheduled_lease_until, replaces, replaced_by, owner, client_metadata"
    static let setReplacedBy = "UPDATE holds SET replaced_by = ?2 WHERE id = ?1 RETURNING id"
    static let setReplaces = "UPDATE holds SET replaces = ?2 WHERE id = ?1 RETURNING id"
    static let setSchedule = """
        UPDATE holds SET scheduled_action = ?2, scheduled_at = ?3, scheduled_amount = ?4, scheduled_revision = ?5, \
        scheduled_state = ?6, scheduled_owner = ?7, scheduled_lease_until = ?8 WHERE id = ?1 RETURNING id
        """
    /// The claim's compare-and-set, in one statement. Binds: id, the action's kind, time,
    /// amount and revision, then the lease's owner and end, then now.
    static let claimSchedule = """
        UPDATE holds SET scheduled_state = 'running', scheduled_owner = ?6, scheduled_lease_until = ?7 \
        WHERE id = ?1 AND scheduled_action = ?2 AND scheduled_at = ?3 AND scheduled_amount IS ?4 AND scheduled_revision = ?5 \
        AND ((scheduled_state = 'pending' AND scheduled_at <= ?8) \
        OR (scheduled_state = 'running' AND (scheduled_owner IS ?6 OR scheduled_lease_until IS NULL OR scheduled_lease_until <= ?8))) \
        RETURNING id
        """
    /// Clears the action only for the owner of its claim. Binds: id, owner.
    static let finishSchedule = """
        UPDATE holds SET scheduled_action = NULL, scheduled_at = NULL, scheduled_amount = NULL, scheduled_revision = NULL, \
        scheduled_state = NULL, scheduled_owner = NULL, scheduled_lease_until = NULL \
        WHERE id = ?1 AND scheduled_state = 'running' AND scheduled_owner = ?2 RETURNING id
        """
    static let selectDueActions = """
        SELECT \(readColumns) FROM holds WHERE scheduled_action IS NOT NULL AND scheduled_at <= ? \
        ORDER BY scheduled_at, id LIMIT ?
        """
    static let selectPendingActionsNotFrom = """
        SELECT \(readColumns) FROM holds WHERE scheduled_state = 'pending' AND scheduled_revision != ? \
        ORDER BY scheduled_at, id LIMIT ?
        """
    /// Binds as `binds(for:)`: `?1` is the id.
    static let update = """
        UPDATE holds SET chitty_id = ?2, chitty_id_status = ?3, status = ?4, amount = ?5, \
        amount_capturable = ?6, amount_received = ?7, currency = ?8, description = ?9, customer_email = ?10, \
        property_id = ?11, tenant_id = ?12, metadata = ?13, client_secret = ?14, client = ?15, tier = ?16, \
        tier_limit = ?17, policy_revision = ?18, create_operation_key = ?19, created_at = ?20, \
        updated_at = ?21, capture_before = ?22, captured_at = ?23, canceled_at = ?24, stripe_state_at = ?25 \
        WHERE id = ?1 RETURNING id
        """
    /// `update` guarded by what the writer read: binds as `binds(for:)`, then the expected
    /// `updated_at`, status, amount_capturable and amount_received as ?26…?29.
    static let updateIfUnchanged = """
        UPDATE holds SET chitty_id = ?2, chitty_id_status = ?3, status = ?4, amount = ?5, \
        amount_capturable = ?6, amount_received = ?7, currency = ?8, description = ?9, customer_email = ?10, \
        property_id = ?11, tenant_id = ?12, metadata = ?13, client_secret = ?14, client = ?15, tier = ?16, \
        tier_limit = ?17, policy_revision = ?18, create_operation_key = ?19, created_at = ?20, \
        updated_at = ?21, capture_before = ?22, captured_at = ?23, canceled_at = ?24, stripe_state_at = ?25 \
        WHERE id = ?1 AND updated_at = ?26 AND status = ?27 AND amount_capturable = ?28 AND amount_received = ?29 \
        RETURNING id
        """
    /// What a finished capture or cancel learned from Stripe, and only that: the rest of the
    /// row may have been changed by a webhook or the outbox since the operation read it.
    /// The first `captured_at`/`canceled_at` stored stays. Binds: id, status,
    /// amount_capturable, amount_received, captured_at, canceled_at, stripe_state_at, updated_at.
    static let settle = """
        UPDATE holds SET status = ?2, amount_capturable = ?3, amount_received = ?4, \
        captured_at = COALESCE(captured_at, ?5), canceled_at = COALESCE(canceled_at, ?6), \
        stripe_state_at = ?7, updated_at = ?8 WHERE id = ?1 RETURNING id
        """
    static let selectByID = "SELECT \(readColumns) FROM holds WHERE id = ?"
    static let selectByChittyID = "SELECT \(readColumns) FROM holds WHERE chitty_id = ?"
    static let selectUnsettled = """
        SELECT \(readColumns) FROM holds WHERE status NOT IN ('succeeded', 'canceled') AND updated_at <= ? \
        ORDER BY updated_at, id LIMIT ?
        """
    static let selectPosition = "SELECT created_at, id FROM holds WHERE id = ?"
    /// The cursor hold, only when one of the listed owners has it (binds: id, then owners).
    static func selectPosition(ownedByAnyOf count: Int) -> String {
        "SELECT created_at, id FROM holds WHERE id = ? AND " + ownerCondition(count)
    }
    static let setMinted = """
        UPDATE holds SET chitty_id = ?, chitty_id_status = 'minted', updated_at = ? WHERE id = ?
        """

    // The pieces `holds(matching:)` puts together.
    static let selectAll = "SELECT \(readColumns) FROM holds"
    static let propertyCondition = "property_id = ?"
    static let tenantCondition = "tenant_id = ?"
    static let statusCondition = "status = ?"
    /// `owner IN (…)` over `count` binds; with none, a condition no hold meets.
    static func ownerCondition(_ count: Int) -> String {
        count == 0 ? "0" : "owner IN (\(placeholders(count)))"
    }
    /// Strictly after the cursor hold in newest-first order.
    static let afterCursorCondition = "(created_at, id) < (?, ?)"
    static let newestFirstWithLimit = "ORDER BY created_at DESC, id DESC LIMIT ?"

    static func binds(for hold: Hold) throws -> [SQLiteData] {
        [
            .text(hold.id),
            SQLiteData(hold.chittyID),
            .text(hold.chittyIDStatus.rawValue),
            .text(hold.status.rawValue),
            .integer(hold.amount),
            .integer(hold.amountCapturable),
            .integer(hold.amountReceived),
            .text(hold.currency),
            .text(hold.description),
            SQLiteData(hold.customerEmail),
            SQLiteData(hold.propertyID),
            SQLiteData(hold.tenantID),
            .text(MetadataColumn.encode(hold.metadata)),
            SQLiteData(hold.clientSecret),
            .text(hold.client),
            .text(hold.tier),
            .integer(hold.tierLimit),
            .text(hold.policyRevision),
            .text(hold.createOperationKey),
            SQLiteData(hold.createdAt),
            SQLiteData(hold.updatedAt),
            SQLiteData(hold.captureBefore),
            SQLiteData(hold.capturedAt),
            SQLiteData(hold.canceledAt),
            SQLiteData(hold.stripeStateAt),
        ]
    }

    static func insertBinds(for hold: Hold) throws -> [SQLiteData] {
        try binds(for: hold) + [.text(hold.owner), SQLiteData(BookingEventColumns.encodeMetadata(hold.clientMetadata))]
    }

    static func settleBinds(for hold: Hold) -> [SQLiteData] {
        [
            .text(hold.id), .text(hold.status.rawValue), .integer(hold.amountCapturable), .integer(hold.amountReceived),
            SQLiteData(hold.capturedAt), SQLiteData(hold.canceledAt), SQLiteData(hold.stripeStateAt), SQLiteData(hold.updatedAt),
        ]
    }

    static func scheduleBinds(_ action: ScheduledAction?, holdID: String) -> [SQLiteData] {
        guard let action else { return [.text(holdID), .null, .null, .null, .null, .null, .null, .null] }
        return [
            .text(holdID), .text(action.kind.rawValue), SQLiteData(action.at), SQLiteData(action.amount),
            .text(action.revision), .text(action.state.rawValue), SQLiteData(action.lease?.owner), SQLiteData(action.lease?.until),
        ]
    }



    static func decode(_ row: SQLiteRow) throws -> Hold {
        try RowReader(row: row, table: "holds", keyColumn: "id").hold()
    }
}

/// `?, ?, …` for an INSERT of `count` columns.
func placeholders(_ count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
}
