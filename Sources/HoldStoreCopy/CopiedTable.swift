import Foundation

/// A table `db copy` moves, with its columns as both schemas have them.
struct CopiedTable: Sendable {
    enum Kind: Sendable { case integer, text, blob }

    let name: String
    /// Orders rows the same way in both databases (byte order for text).
    let key: String
    let columns: [(name: String, kind: Kind)]

    /// In an order that satisfies the foreign keys (holds first). Scheduled actions are
    /// columns of `holds`. What is not copied: schema_migrations (each database has its
    /// own), and the instances, chore leases and rate-limit windows of running servers.
    static let all: [CopiedTable] = [
        CopiedTable(name: "holds", key: "id", columns: [
            ("id", .text), ("chitty_id", .text), ("chitty_id_status", .text), ("status", .text), ("amount", .integer),
            ("amount_capturable", .integer), ("amount_received", .integer), ("currency", .text), ("description", .text),
            ("customer_email", .text), ("property_id", .text), ("tenant_id", .text), ("metadata", .text), ("client_secret", .text),
            ("client", .text), ("tier", .text), ("tier_limit", .integer), ("policy_revision", .text), ("create_operation_key", .text),
            ("created_at", .integer), ("updated_at", .integer), ("capture_before", .integer), ("captured_at", .integer),
            ("canceled_at", .integer), ("stripe_state_at", .integer), ("scheduled_action", .text), ("scheduled_at", .integer),
            ("scheduled_amount", .integer), ("scheduled_revision", .text), ("scheduled_state", .text), ("scheduled_owner", .text),
            ("scheduled_lease_until", .integer), ("replaces", .text), ("replaced_by", .text), ("owner", .text),
            ("client_metadata", .text),
        ]),
        CopiedTable(name: "create_operations", key: "key", columns: [
            ("key", .text), ("client", .text), ("client_idempotency_key", .text), ("request_hash", .text), ("params", .text),
            ("tier", .text), ("tier_limit", .integer), ("policy_revision", .text), ("property_id", .text), ("tenant_id", .text),
            ("state", .text), ("hold_id", .text), ("failure_body", .blob), ("created_at", .integer), ("updated_at", .integer),
            ("client_metadata", .text),
        ]),
        CopiedTable(name: "hold_operations", key: "key", columns: [
            ("key", .text), ("hold_id", .text), ("kind", .text), ("amount", .integer), ("state", .text), ("response_body", .blob),
            ("created_at", .integer), ("updated_at", .integer),
        ]),
        CopiedTable(name: "chittyid_outbox", key: "hold_id", columns: [
            ("hold_id", .text), ("attempts", .integer), ("next_attempt_at", .integer), ("last_error", .text),
        ]),
        CopiedTable(name: "policy_decisions", key: "id", columns: [
            ("id", .text), ("hook", .text), ("revision", .text), ("source", .text), ("input", .blob), ("decision", .blob),
            ("subject", .text), ("created_at", .integer),
        ]),
        CopiedTable(name: "webhook_events", key: "id", columns: [
            ("id", .text), ("type", .text), ("created_at", .integer), ("payload", .blob), ("hold_id", .text), ("outcome", .text),
            ("received_at", .integer),
        ]),
        CopiedTable(name: "booking_events", key: "hold_id, event_id", columns: [
            ("hold_id", .text), ("event_id", .text), ("type", .text), ("occurred_at", .integer), ("details", .text),
            ("client", .text), ("received_at", .integer), ("outcome", .text),
        ]),
        CopiedTable(name: "origin_sightings", key: "day, origin", columns: [
            ("day", .text), ("origin", .text), ("first_seen_at", .integer), ("allowed", .integer), ("revision", .text),
        ]),
        CopiedTable(name: "policy_revisions", key: "id", columns: [
            ("id", .text), ("directory", .text), ("files", .blob), ("activated_at", .integer), ("trigger", .text),
            ("activated_by", .text), ("message", .text),
        ]),
    ]

    /// `key` for PostgreSQL's ORDER BY, each column in byte order (SQLite's text order).
    var postgresKeyOrder: String {
        key.split(separator: ",").map { "\($0.trimmingCharacters(in: .whitespaces)) COLLATE \"C\"" }.joined(separator: ", ")
    }

    var columnList: String { columns.map(\.name).joined(separator: ", ") }

    /// Each column as text (NULL stays NULL), the same in both databases, for the checksum.
    var sqliteCanonicalColumns: String {
        columns.map { column in
            switch column.kind {
            case .integer: "CAST(\(column.name) AS TEXT)"
            case .text: column.name
            // hex(NULL) is '' in SQLite: keep NULL a NULL.
            case .blob: "CASE WHEN \(column.name) IS NULL THEN NULL ELSE lower(hex(\(column.name))) END"
            }
        }.joined(separator: ", ")
    }

    var postgresCanonicalColumns: String {
        columns.map { column in
            switch column.kind {
            case .integer: "\(column.name)::text"
            case .text: column.name
            case .blob: "encode(\(column.name), 'hex')"
            }
        }.joined(separator: ", ")
    }
}
