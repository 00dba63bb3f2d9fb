/// The tables of the SQLite hold store, as numbered migrations.
///
/// Conventions: times are INTEGER Unix milliseconds; structured values (metadata,
/// request parameters) are JSON text; stored responses and policy inputs are BLOBs.
/// Tables are STRICT so a value of the wrong type is refused on write, not found on read.
enum HoldStoreSchema {
    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT
        """
    static let currentVersion = "SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations"
    static let recordMigration = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
    static let appliedMigrations = "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"

    static let migrations: [SchemaMigration] = [
        SchemaMigration(version: 1, name: "holds, operations, policy decisions, ChittyID outbox", statements: [
            """
            CREATE TABLE holds (
                id TEXT PRIMARY KEY,
                chitty_id TEXT,
                chitty_id_status TEXT NOT NULL CHECK (chitty_id_status IN ('minted', 'pending')),
                status TEXT NOT NULL,
                amount INTEGER NOT NULL,
                amount_capturable INTEGER NOT NULL,
                amount_received INTEGER NOT NULL,
                currency TEXT NOT NULL,
                description TEXT NOT NULL,
                customer_email TEXT,
                property_id TEXT,
                tenant_id TEXT,
                metadata TEXT NOT NULL,
                client_secret TEXT,
                client TEXT NOT NULL,
                tier TEXT NOT NULL,
                tier_limit INTEGER NOT NULL,
                policy_revision TEXT NOT NULL,
                create_operation_key TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                capture_before INTEGER,
                captured_at INTEGER,
                canceled_at INTEGER
            ) STRICT
            """,
            // Listing is newest first by (created_at, id); each filter gets an index that
            // also serves that order, so a filtered page is one index range scan.
            "CREATE INDEX holds_by_created ON holds (created_at, id)",
            "CREATE INDEX holds_by_property ON holds (property_id, created_at, id) WHERE property_id IS NOT NULL",
            "CREATE INDEX holds_by_tenant ON holds (tenant_id, created_at, id) WHERE tenant_id IS NOT NULL",
            "CREATE INDEX holds_by_status ON holds (status, created_at, id)",
            "CREATE INDEX holds_by_client ON holds (client, created_at, id)",
            "CREATE UNIQUE INDEX holds_by_chitty_id ON holds (chitty_id) WHERE chitty_id IS NOT NULL",

            """
            CREATE TABLE create_operations (
                key TEXT PRIMARY KEY,
                client TEXT NOT NULL,
                client_idempotency_key TEXT,
                request_hash TEXT NOT NULL,
                params TEXT NOT NULL,
                tier TEXT NOT NULL,
                tier_limit INTEGER NOT NULL,
                policy_revision TEXT NOT NULL,
                property_id TEXT,
                tenant_id TEXT,
                state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
                hold_id TEXT REFERENCES holds (id),
                failure_status INTEGER,
                failure_body BLOB,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            // A client's Idempotency-Key names one operation, forever.
            """
            CREATE UNIQUE INDEX create_operations_by_client_key
                ON create_operations (client, client_idempotency_key)
                WHERE client_idempotency_key IS NOT NULL
            """,
            "CREATE INDEX create_operations_pending ON create_operations (created_at, key) WHERE state = 'pending'",

            """
            CREATE TABLE hold_operations (
                key TEXT PRIMARY KEY,
                hold_id TEXT NOT NULL REFERENCES holds (id),
                kind TEXT NOT NULL CHECK (kind IN ('capture', 'cancel')),
                amount INTEGER,
                state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
                response_status INTEGER,
                response_body BLOB,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            // The compare-and-set of claimOperation, enforced by the database: at most one
            // live (pending or succeeded) capture/cancel per hold, so two concurrent
            // captures can never both reach Stripe.
            """
            CREATE UNIQUE INDEX hold_operations_one_live_per_hold
                ON hold_operations (hold_id)
                WHERE state IN ('pending', 'succeeded')
            """,
            "CREATE INDEX hold_operations_pending ON hold_operations (created_at, key) WHERE state = 'pending'",

            """
            CREATE TABLE policy_decisions (
                id TEXT PRIMARY KEY,
                hook TEXT NOT NULL,
                revision TEXT NOT NULL,
                source TEXT NOT NULL,
                input BLOB NOT NULL,
                decision BLOB NOT NULL,
                subject TEXT,
                created_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX policy_decisions_by_subject ON policy_decisions (subject, created_at) WHERE subject IS NOT NULL",

            """
            CREATE TABLE chittyid_outbox (
                hold_id TEXT PRIMARY KEY REFERENCES holds (id),
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                last_error TEXT
            ) STRICT
            """,
            "CREATE INDEX chittyid_outbox_due ON chittyid_outbox (next_attempt_at, hold_id)",

            // (Until version 6) claiming a create went through this view, and completing
            // one through triggers on the hold insert; the store's methods do it now.
            """
            CREATE VIEW create_claims AS SELECT
                o.key, o.client, o.client_idempotency_key, o.request_hash, o.params, o.tier, o.tier_limit,
                o.policy_revision, o.property_id, o.tenant_id, o.state, o.hold_id, o.failure_status, o.failure_body,
                o.created_at, o.updated_at,
                d.id AS decision_id, d.hook AS decision_hook, d.revision AS decision_revision,
                d.source AS decision_source, d.input AS decision_input, d.decision AS decision_output,
                d.created_at AS decision_created_at
            FROM create_operations o LEFT JOIN policy_decisions d ON d.subject = o.key
            """,
            """
            CREATE TRIGGER create_claims_insert INSTEAD OF INSERT ON create_claims
            BEGIN
                INSERT INTO create_operations (
                    key, client, client_idempotency_key, request_hash, params, tier, tier_limit, policy_revision,
                    property_id, tenant_id, state, hold_id, failure_status, failure_body, created_at, updated_at)
                VALUES (
                    NEW.key, NEW.client, NEW.client_idempotency_key, NEW.request_hash, NEW.params, NEW.tier,
                    NEW.tier_limit, NEW.policy_revision, NEW.property_id, NEW.tenant_id, NEW.state, NEW.hold_id,
                    NEW.failure_status, NEW.failure_body, NEW.created_at, NEW.updated_at);
                INSERT INTO policy_decisions (id, hook, revision, source, input, decision, subject, created_at)
                    SELECT NEW.decision_id, NEW.decision_hook, NEW.decision_revision, NEW.decision_source,
                           NEW.decision_input, NEW.decision_output, NEW.key, NEW.decision_created_at
                    WHERE NEW.decision_id IS NOT NULL;
            END
            """,

            """
            CREATE TRIGGER holds_insert_requires_pending_create BEFORE INSERT ON holds
            WHEN (SELECT state FROM create_operations WHERE key = NEW.create_operation_key) IS NOT 'pending'
            BEGIN
                SELECT RAISE(ABORT, 'create operation is not pending');
            END
            """,
            """
            CREATE TRIGGER holds_insert_completes_create AFTER INSERT ON holds
            BEGIN
                UPDATE create_operations SET state = 'succeeded', hold_id = NEW.id, updated_at = NEW.updated_at
                    WHERE key = NEW.create_operation_key;
                INSERT INTO chittyid_outbox (hold_id, attempts, next_attempt_at, last_error)
                    SELECT NEW.id, 0, NEW.updated_at, NULL WHERE NEW.chitty_id IS NULL;
            END
            """,
        ]),
        SchemaMigration(version: 2, name: "webhook events, Stripe's state time, scheduled actions", statements: [
            "ALTER TABLE holds ADD COLUMN stripe_state_at INTEGER",
            // The hold's scheduled capture or release (hold_schedule), while it is to be done.
            "ALTER TABLE holds ADD COLUMN scheduled_action TEXT CHECK (scheduled_action IN ('capture', 'release', 'reauthorize'))",
            "ALTER TABLE holds ADD COLUMN scheduled_at INTEGER",
            "ALTER TABLE holds ADD COLUMN scheduled_amount INTEGER",
            "ALTER TABLE holds ADD COLUMN scheduled_revision TEXT",
            "ALTER TABLE holds ADD COLUMN scheduled_state TEXT CHECK (scheduled_state IN ('pending', 'running'))",
            "CREATE INDEX holds_scheduled ON holds (scheduled_at, id) WHERE scheduled_action IS NOT NULL",
            // Reauthorization links a new hold to the one it replaces.
            "ALTER TABLE holds ADD COLUMN replaces TEXT",
            "ALTER TABLE holds ADD COLUMN replaced_by TEXT",
            // Every verified event, once (the id is the key), with what it did.
            """
            CREATE TABLE webhook_events (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                payload BLOB NOT NULL,
                hold_id TEXT,
                outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'stale', 'recorded', 'unknown_hold', 'failed')),
                received_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX webhook_events_by_hold ON webhook_events (hold_id, created_at) WHERE hold_id IS NOT NULL",
            // Reconciliation looks for unsettled holds by how long they have been quiet.
            "CREATE INDEX holds_unsettled ON holds (updated_at, id) WHERE status NOT IN ('succeeded', 'canceled')",
        ]),
        SchemaMigration(version: 3, name: "policy revisions for rollback, decisions by time for backtests", statements: [
            // The sources of recently active policy revisions, so an operator can go back to
            // one even after the folder on disk changed.
            """
            CREATE TABLE policy_revisions (
                id TEXT PRIMARY KEY,
                directory TEXT NOT NULL,
                files BLOB NOT NULL,
                activated_at INTEGER NOT NULL,
                trigger TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX policy_revisions_by_activation ON policy_revisions (activated_at)",
            // A backtest replays decisions in time order from a date.
            "CREATE INDEX policy_decisions_by_time ON policy_decisions (created_at)",
        ]),
        SchemaMigration(version: 4, name: "hold owners, for tenant isolation", statements: [
            // The client a hold belongs to. Holds from before belong to the client recorded
            // on them, or to `default` (the shared CHITTY_ID_TOKEN's client) when none was.
            // Every insert names the owner; the default only serves these older rows.
            "ALTER TABLE holds ADD COLUMN owner TEXT NOT NULL DEFAULT 'default'",
            "UPDATE holds SET owner = client WHERE client != ''",
            // A client's list is one index range scan in list order.
            "CREATE INDEX holds_by_owner ON holds (owner, created_at, id)",
        ]),
        SchemaMigration(version: 5, name: "scheduled action leases", statements: [
            // Which scheduler runs a running action, and until when the others keep off it.
            // An action left running before leases existed has none, so any scheduler may
            // take it over at once, as before.
            "ALTER TABLE holds ADD COLUMN scheduled_owner TEXT",
            "ALTER TABLE holds ADD COLUMN scheduled_lease_until INTEGER",
        ]),
        SchemaMigration(version: 6, name: "workflow rules in Swift; outcomes without HTTP statuses", statements: [
            // What claiming and completing a create also change (the decision, the
            // operation's state, the ChittyID job) is written by the store's methods, where
            // the protocol states it and another store can read it; the constraints stay.
            "DROP TRIGGER create_claims_insert",
            "DROP VIEW create_claims",
            "DROP TRIGGER holds_insert_requires_pending_create",
            "DROP TRIGGER holds_insert_completes_create",
            // Outcomes are kept as domain values in the *_body columns; the HTTP status
            // that went with them is the server's to choose.
            "ALTER TABLE create_operations DROP COLUMN failure_status",
            "ALTER TABLE hold_operations DROP COLUMN response_status",
        ]),
        SchemaMigration(version: 7, name: "instances and chore leases", statements: [
            // The same tables as PostgreSQL's: one SQLite file has one instance, which still
            // lists itself and takes the chore leases.
            """
            CREATE TABLE cluster_instances (
                id TEXT PRIMARY KEY,
                address TEXT NOT NULL,
                started_at INTEGER NOT NULL,
                heartbeat_at INTEGER NOT NULL,
                active_revision TEXT NOT NULL,
                revision_problem TEXT
            ) STRICT
            """,
            """
            CREATE TABLE background_leases (
                name TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                lease_until INTEGER NOT NULL
            ) STRICT
            """,
        ]),
        SchemaMigration(version: 8, name: "booking events; metadata with the client's types", statements: [
            // What the client sent as metadata, with its JSON types, for the policy (the
            // `metadata` column is Stripe's copy, all strings). NULL on older rows.
            "ALTER TABLE holds ADD COLUMN client_metadata TEXT",
            "ALTER TABLE create_operations ADD COLUMN client_metadata TEXT",
            BookingEventRow.createTable,
            "CREATE INDEX booking_events_without_outcome ON booking_events (received_at) WHERE outcome IS NULL",
        ]),
        SchemaMigration(version: 9, name: "browser origins seen, one row per origin and day", statements: [
            """
            CREATE TABLE origin_sightings (
                day TEXT NOT NULL,
                origin TEXT NOT NULL,
                first_seen_at INTEGER NOT NULL,
                allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)),
                revision TEXT NOT NULL,
                PRIMARY KEY (day, origin)
            ) STRICT
            """,
        ]),
        SchemaMigration(version: 10, name: "who activated a policy revision, and why", statements: [
            "ALTER TABLE policy_revisions ADD COLUMN activated_by TEXT",
            "ALTER TABLE policy_revisions ADD COLUMN message TEXT",
        ]),
    ]

    static var latestVersion: Int { migrations.last?.version ?? 0 }
}
