/// The tables of the PostgreSQL hold store, as numbered migrations.
///
/// The same shape as the SQLite store's schema at its version 6 (so `db copy` moves rows
/// column for column): times are BIGINT Unix milliseconds, metadata and request parameters
/// JSON text, stored outcomes and policy inputs BYTEA. Where SQLite orders ties by `rowid`,
/// these tables have a `seq` identity column.
///
/// Migrations run at startup in one transaction under an advisory lock, so instances
/// starting together take turns: the first migrates, the others find the work done.
enum PostgresSchema {
    /// `pg_advisory_xact_lock` key: "CHITCHRG" as a 64-bit integer.
    static let migrationLockKey: Int = 0x4348_4954_4348_5247

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )
        """
    static let currentVersion = "SELECT COALESCE(MAX(version), 0)::BIGINT AS version FROM schema_migrations"
    static let recordMigration = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1::INTEGER, $2, $3)"

    static let migrations: [PostgresSchemaMigration] = [
        PostgresSchemaMigration(version: 1, name: "holds, operations, decisions, outbox, webhooks, revisions", statements: [
            """
            CREATE TABLE holds (
                id TEXT PRIMARY KEY,
                chitty_id TEXT,
                chitty_id_status TEXT NOT NULL CHECK (chitty_id_status IN ('minted', 'pending')),
                status TEXT NOT NULL,
                amount BIGINT NOT NULL,
                amount_capturable BIGINT NOT NULL,
                amount_received BIGINT NOT NULL,
                currency TEXT NOT NULL,
                description TEXT NOT NULL,
                customer_email TEXT,
                property_id TEXT,
                tenant_id TEXT,
                metadata TEXT NOT NULL,
                client_secret TEXT,
                client TEXT NOT NULL,
                tier TEXT NOT NULL,
                tier_limit BIGINT NOT NULL,
                policy_revision TEXT NOT NULL,
                create_operation_key TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                capture_before BIGINT,
                captured_at BIGINT,
                canceled_at BIGINT,
                stripe_state_at BIGINT,
                scheduled_action TEXT CHECK (scheduled_action IN ('capture', 'release', 'reauthorize')),
                scheduled_at BIGINT,
                scheduled_amount BIGINT,
                scheduled_revision TEXT,
                scheduled_state TEXT CHECK (scheduled_state IN ('pending', 'running')),
                scheduled_owner TEXT,
                scheduled_lease_until BIGINT,
                replaces TEXT,
                replaced_by TEXT,
                owner TEXT NOT NULL
            )
            """,
            // Listing is newest first by (created_at, id); each filter has an index in that order.
            "CREATE INDEX holds_by_created ON holds (created_at, id)",
            "CREATE INDEX holds_by_property ON holds (property_id, created_at, id) WHERE property_id IS NOT NULL",
            "CREATE INDEX holds_by_tenant ON holds (tenant_id, created_at, id) WHERE tenant_id IS NOT NULL",
            "CREATE INDEX holds_by_status ON holds (status, created_at, id)",
            "CREATE INDEX holds_by_owner ON holds (owner, created_at, id)",
            "CREATE UNIQUE INDEX holds_by_chitty_id ON holds (chitty_id) WHERE chitty_id IS NOT NULL",
            "CREATE INDEX holds_scheduled ON holds (scheduled_at, id) WHERE scheduled_action IS NOT NULL",
            "CREATE INDEX holds_unsettled ON holds (updated_at, id) WHERE status NOT IN ('succeeded', 'canceled')",
            """
            CREATE TABLE create_operations (
                key TEXT PRIMARY KEY,
                client TEXT NOT NULL,
                client_idempotency_key TEXT,
                request_hash TEXT NOT NULL,
                params TEXT NOT NULL,
                tier TEXT NOT NULL,
                tier_limit BIGINT NOT NULL,
                policy_revision TEXT NOT NULL,
                property_id TEXT,
                tenant_id TEXT,
                state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
                hold_id TEXT REFERENCES holds (id),
                failure_body BYTEA,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            // A client's Idempotency-Key names one operation, forever, across every instance.
            """
            CREATE UNIQUE INDEX create_operations_by_client_key
                ON create_operations (client, client_idempotency_key) WHERE client_idempotency_key IS NOT NULL
            """,
            "CREATE INDEX create_operations_pending ON create_operations (created_at, key) WHERE state = 'pending'",
            """
            CREATE TABLE hold_operations (
                key TEXT PRIMARY KEY,
                hold_id TEXT NOT NULL REFERENCES holds (id),
                kind TEXT NOT NULL CHECK (kind IN ('capture', 'cancel')),
                amount BIGINT,
                state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
                response_body BYTEA,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            // At most one live capture/cancel per hold, enforced by the database for every
            // instance: two concurrent captures can never both reach Stripe.
            "CREATE UNIQUE INDEX hold_operations_one_live_per_hold ON hold_operations (hold_id) WHERE state IN ('pending', 'succeeded')",
            "CREATE INDEX hold_operations_pending ON hold_operations (created_at, key) WHERE state = 'pending'",
            """
            CREATE TABLE policy_decisions (
                id TEXT PRIMARY KEY,
                hook TEXT NOT NULL,
                revision TEXT NOT NULL,
                source TEXT NOT NULL,
                input BYTEA NOT NULL,
                decision BYTEA NOT NULL,
                subject TEXT,
                created_at BIGINT NOT NULL,
                seq BIGINT GENERATED ALWAYS AS IDENTITY
            )
            """,
            "CREATE INDEX policy_decisions_by_subject ON policy_decisions (subject, created_at, seq) WHERE subject IS NOT NULL",
            "CREATE INDEX policy_decisions_by_time ON policy_decisions (created_at, id)",
            """
            CREATE TABLE chittyid_outbox (
                hold_id TEXT PRIMARY KEY REFERENCES holds (id),
                attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT
            )
            """,
            "CREATE INDEX chittyid_outbox_due ON chittyid_outbox (next_attempt_at, hold_id)",
            """
            CREATE TABLE webhook_events (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                payload BYTEA NOT NULL,
                hold_id TEXT,
                outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'stale', 'recorded', 'unknown_hold', 'failed')),
                received_at BIGINT NOT NULL,
                seq BIGINT GENERATED ALWAYS AS IDENTITY
            )
            """,
            "CREATE INDEX webhook_events_by_hold ON webhook_events (hold_id, created_at, seq) WHERE hold_id IS NOT NULL",
            """
            CREATE TABLE policy_revisions (
                id TEXT PRIMARY KEY,
                directory TEXT NOT NULL,
                files BYTEA NOT NULL,
                activated_at BIGINT NOT NULL,
                trigger TEXT NOT NULL,
                seq BIGINT GENERATED ALWAYS AS IDENTITY
            )
            """,
            "CREATE INDEX policy_revisions_by_activation ON policy_revisions (activated_at, seq)",
            // Who is alive, on which policy revision; who runs a cluster-wide chore now.
            """
            CREATE TABLE cluster_instances (
                id TEXT PRIMARY KEY,
                address TEXT NOT NULL,
                started_at BIGINT NOT NULL,
                heartbeat_at BIGINT NOT NULL,
                active_revision TEXT NOT NULL,
                revision_problem TEXT
            )
            """,
            // Each rate-limit key's current window and what has been granted of it
            // (`last_grant`: what the latest lease got, for RETURNING).
            """
            CREATE TABLE rate_limit_windows (
                key TEXT PRIMARY KEY,
                window_start BIGINT NOT NULL,
                window_end BIGINT NOT NULL,
                granted BIGINT NOT NULL,
                last_grant BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE background_leases (
                name TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                lease_until BIGINT NOT NULL
            )
            """,
        ]),
        PostgresSchemaMigration(version: 2, name: "booking events; metadata with the client's types", statements: [
            // The SQLite store's version 8, column for column.
            "ALTER TABLE holds ADD COLUMN client_metadata TEXT",
            "ALTER TABLE create_operations ADD COLUMN client_metadata TEXT",
            """
            CREATE TABLE booking_events (
                hold_id TEXT NOT NULL REFERENCES holds (id),
                event_id TEXT NOT NULL,
                type TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                details TEXT NOT NULL,
                client TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                outcome TEXT,
                seq BIGINT GENERATED ALWAYS AS IDENTITY,
                PRIMARY KEY (hold_id, event_id)
            )
            """,
            "CREATE INDEX booking_events_without_outcome ON booking_events (received_at, seq) WHERE outcome IS NULL",
        ]),
        PostgresSchemaMigration(version: 3, name: "browser origins seen, one row per origin and day", statements: [
            """
            CREATE TABLE origin_sightings (
                day TEXT NOT NULL,
                origin TEXT NOT NULL,
                first_seen_at BIGINT NOT NULL,
                allowed BIGINT NOT NULL CHECK (allowed IN (0, 1)),
                revision TEXT NOT NULL,
                PRIMARY KEY (day, origin)
            )
            """,
        ]),
        PostgresSchemaMigration(version: 4, name: "who activated a policy revision, and why", statements: [
            "ALTER TABLE policy_revisions ADD COLUMN activated_by TEXT",
            "ALTER TABLE policy_revisions ADD COLUMN message TEXT",
        ]),
    ]

    static var latestVersion: Int { migrations.last?.version ?? 0 }
}

struct PostgresSchemaMigration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}
