import ChittyCharge
import Foundation
import HoldStoreColumns
import JSON
import PostgresNIO

/// How a `Hold` maps to a row of `holds`, and the statements that read and write it.
enum PostgresHoldRow {
    /// Column order of `values(for:)`: `$1` is the id.
    static let columns = """
        id, chitty_id, chitty_id_status, status, amount, amount_capturable, amount_received, currency, \
        description, customer_email, property_id, tenant_id, metadata, client_secret, client, tier, \
        tier_limit, policy_revision, create_operation_key, created_at, updated_at, capture_before, \
        captured_at, canceled_at, stripe_state_at
        """
    static let readColumns = columns
        + ", scheduled_action, scheduled_at, scheduled_amount, scheduled_revision, scheduled_state, scheduled_owner, "
        + "scheduled_lease_until, replaces, replaced_by, owner, client_metadata"

    /// `insertValues(for:)`: the owner and the client's typed metadata are written only here
    /// (updating a hold never changes whose it is, nor what the client sent). Nothing when
    /// the id or ChittyID is taken.
    static let insertIfNew = """
        INSERT INTO holds (\(columns), owner, client_metadata) VALUES (\((1...27).map { "$\($0)" }.joined(separator: ", "))) \
        ON CONFLICT DO NOTHING RETURNING id
        """

    static func insertValues(for hold: Hold) -> [PostgresValue] {
        values(for: hold) + [.text(hold.owner), .text(BookingEventColumns.encodeMetadata(hold.clientMetadata))]
    }
    static let assignments = """
        chitty_id = $2, chitty_id_status = $3, status = $4, amount = $5, \
        amount_capturable = $6, amount_received = $7, currency = $8, description = $9, customer_email = $10, \
        property_id = $11, tenant_id = $12, metadata = $13, client_secret = $14, client = $15, tier = $16, \
        tier_limit = $17, policy_revision = $18, create_operation_key = $19, created_at = $20, \
        updated_at = $21, capture_before = $22, captured_at = $23, canceled_at = $24, stripe_state_at = $25
        """
    static let update = "UPDATE holds SET \(assignments) WHERE id = $1 RETURNING id"
    /// `update` guarded by what the writer read: then the expected `updated_at`, status,
    /// amount_capturable and amount_received as $26…$29.
    static let updateIfUnchanged = """
        UPDATE holds SET \(assignments) \
        WHERE id = $1 AND updated_at = $26 AND status = $27 AND amount_capturable = $28 AND amount_received = $29 RETURNING id
        """
    /// What a finished capture or cancel learned from Stripe, and only that (see the SQLite store).
    static let settle = """
        UPDATE holds SET status = $2, amount_capturable = $3, amount_received = $4, \
        captured_at = COALESCE(captured_at, $5), canceled_at = COALESCE(canceled_at, $6), \
        stripe_state_at = $7, updated_at = $8 WHERE id = $1 RETURNING id
        """
    static let selectByID = "SELECT \(readColumns) FROM holds WHERE id = $1"
    static let selectByChittyID = "SELECT \(readColumns) FROM holds WHERE chitty_id = $1"
    static let selectUnsettled = """
        SELECT \(readColumns) FROM holds WHERE status NOT IN ('succeeded', 'canceled') AND updated_at <= $1 \
        ORDER BY updated_at, id LIMIT $2
        """

    static func values(for hold: Hold) -> [PostgresValue] {
        [
            .text(hold.id), .text(hold.chittyID), .text(hold.chittyIDStatus.rawValue), .text(hold.status.rawValue),
            .integer(hold.amount), .integer(hold.amountCapturable), .integer(hold.amountReceived), .text(hold.currency),
            .text(hold.description), .text(hold.customerEmail), .text(hold.propertyID), .text(hold.tenantID),
            .text(MetadataColumn.encode(hold.metadata)),
            .text(hold.clientSecret), .text(hold.client), .text(hold.tier), .integer(hold.tierLimit), .text(hold.policyRevision),
            .text(hold.createOperationKey), .date(hold.createdAt), .date(hold.updatedAt), .date(hold.captureBefore),
            .date(hold.capturedAt), .date(hold.canceledAt), .date(hold.stripeStateAt),
        ]
    }

    static func settleValues(for hold: Hold) -> [PostgresValue] {
        [
            .text(hold.id), .text(hold.status.rawValue), .integer(hold.amountCapturable), .integer(hold.amountReceived),
            .date(hold.capturedAt), .date(hold.canceledAt), .date(hold.stripeStateAt), .date(hold.updatedAt),
        ]
    }



    static func decode(_ row: PostgresRow) throws -> Hold {
        try PostgresRowReader(row, table: "holds", keyColumn: "id").hold()
    }
}

extension PostgresConnection {
    /// The rows of `sql` with `values` bound, collected: every statement goes through here,
    /// because postgres-nio delivers an error raised while a statement runs (after its row
    /// description) with the rows, so a statement whose rows were not read could fail unseen.
    @discardableResult
    func rows(_ sql: String, _ values: [PostgresValue] = [], logger: Logger) async throws -> [PostgresRow] {
        try await query(PostgresQuery(sql, values), logger: logger).collect()
    }
}
