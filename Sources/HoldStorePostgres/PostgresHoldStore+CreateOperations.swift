import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

/// How a `CreateOperation` maps to a row of `create_operations`.
enum PostgresCreateOperationRow {
    static let columns = """
        key, client, client_idempotency_key, request_hash, params, tier, tier_limit, policy_revision, \
        property_id, tenant_id, state, hold_id, failure_body, created_at, updated_at, client_metadata
        """
    /// Nothing when the key, or the client's Idempotency-Key, is taken (by any instance).
    static let insertIfNew = """
        INSERT INTO create_operations (\(columns)) VALUES (\((1...16).map { "$\($0)" }.joined(separator: ", "))) \
        ON CONFLICT DO NOTHING RETURNING key
        """
    static let selectByKey = "SELECT \(columns) FROM create_operations WHERE key = $1"
    static let selectByKeyForUpdate = "SELECT \(columns) FROM create_operations WHERE key = $1 FOR UPDATE"
    static let selectByClientKey = "SELECT \(columns) FROM create_operations WHERE client = $1 AND client_idempotency_key = $2"
    static let selectPending = "SELECT \(columns) FROM create_operations WHERE state = 'pending' ORDER BY created_at, key"
    static let markFailed = "UPDATE create_operations SET state = 'failed', failure_body = $1, updated_at = $2 WHERE key = $3"
    static let markRefused = """
        UPDATE create_operations SET state = 'failed', hold_id = $1, failure_body = $2, updated_at = $3 WHERE key = $4
        """
    static let markSucceeded = """
        UPDATE create_operations SET state = 'succeeded', hold_id = $1, updated_at = $2 WHERE key = $3 AND state = 'pending' \
        RETURNING key
        """

    static func values(for operation: CreateOperation) -> [PostgresValue] {
        [
            .text(operation.key), .text(operation.client), .text(operation.clientIdempotencyKey), .text(operation.requestHash),
            .text(String(decoding: operation.params.storedJSON, as: UTF8.self)), .text(operation.tier),
            .integer(operation.tierLimit), .text(operation.policyRevision), .text(operation.propertyID), .text(operation.tenantID),
            .text(operation.state.rawValue), .text(operation.holdID), .failure(operation.failure),
            .date(operation.createdAt), .date(operation.updatedAt),
            .text(BookingEventColumns.encodeMetadata(operation.clientMetadata)),
        ]
    }

    static func decode(_ row: PostgresRow) throws -> CreateOperation {
        try PostgresRowReader(row, table: "create_operations", keyColumn: "key").createOperation()
    }
}

extension PostgresHoldStore {
    public func claimCreate(_ operation: CreateOperation, decision: PolicyDecisionRecord?) async throws -> OperationClaim<CreateOperation> {
        let operationValues = PostgresCreateOperationRow.values(for: operation)
        let decisionValues = decision.map { record in
            var record = record
            record.subject = operation.key
            return PostgresPolicyDecisionRow.values(for: record)
        }
        return try await transaction("claimCreate") { db in
            // ON CONFLICT waits for a concurrent insert of the same key (on any instance) to
            // commit or roll back, so the loser reads the winner's row below.
            if try await db.rows(PostgresCreateOperationRow.insertIfNew, operationValues, logger: self.logger).isEmpty {
                if let clientKey = operation.clientIdempotencyKey,
                   let row = try await db.rows(PostgresCreateOperationRow.selectByClientKey, [.text(operation.client), .text(clientKey)], logger: self.logger).first {
                    return .existing(try PostgresCreateOperationRow.decode(row))
                }
                if let row = try await db.rows(PostgresCreateOperationRow.selectByKey, [.text(operation.key)], logger: self.logger).first {
                    let existing = try PostgresCreateOperationRow.decode(row)
                    if existing.client == operation.client { return .existing(existing) }
                }
                throw HoldStoreError.conflict("create operation key \(operation.key) is already in use")
            }
            if let decisionValues {
                try await db.rows(PostgresPolicyDecisionRow.insert, decisionValues, logger: self.logger)
            }
            return .started(operation)
        }
    }

    public func createOperation(key: String) async throws -> CreateOperation? {
        try await read("createOperation") { db in
            try await db.rows(PostgresCreateOperationRow.selectByKey, [.text(key)], logger: self.logger).first.map(PostgresCreateOperationRow.decode)
        }
    }

    public func completeCreate(key: String, hold: Hold) async throws {
        let holdValues = PostgresHoldRow.insertValues(for: hold)
        try await transaction("completeCreate") { db in
            // The operation row first, locked: a concurrent completion or failure of the same
            // operation (on another instance) waits for this one.
            let operation = try await self.lockedCreateOperation(key: key, in: db)
            switch operation.state {
            case .succeeded where operation.holdID == hold.id:
                return // A retry of a completion that already happened.
            case .succeeded:
                throw HoldStoreError.conflict(
                    "create operation \(key) already succeeded with hold \(operation.holdID ?? "(none)"), not \(hold.id)")
            case .failed:
                throw HoldStoreError.conflict("create operation \(key) already failed; it cannot succeed")
            case .pending:
                break
            }
            if try await db.rows(PostgresHoldRow.insertIfNew, holdValues, logger: self.logger).isEmpty {
                throw HoldStoreError.conflict("hold \(hold.id) (or its ChittyID) already exists")
            }
            try await db.rows(PostgresCreateOperationRow.markSucceeded, [.text(hold.id), .date(hold.updatedAt), .text(key)], logger: self.logger)
            if hold.chittyID == nil {
                try await db.rows(PostgresMintJobRow.insert, PostgresMintJobRow.values(for: ChittyIDMintJob(
                    holdID: hold.id, attempts: 0, nextAttemptAt: hold.updatedAt, lastError: nil)), logger: self.logger)
            }
        }
    }

    public func failCreate(key: String, failure: HoldServiceError, at: Date) async throws {
        try await transaction("failCreate") { db in
            let operation = try await self.lockedCreateOperation(key: key, in: db)
            switch operation.state {
            case .succeeded:
                throw HoldStoreError.conflict("create operation \(key) already succeeded; it cannot fail")
            case .failed:
                return // Keep the first answer: retries must replay what the client was told.
            case .pending:
                try await db.rows(PostgresCreateOperationRow.markFailed, [.failure(failure), .date(at), .text(key)], logger: self.logger)
            }
        }
    }

    public func recordRefusedCreate(key: String, hold: Hold, failure: HoldServiceError, at: Date) async throws {
        let holdValues = PostgresHoldRow.insertValues(for: hold)
        try await transaction("recordRefusedCreate") { db in
            let operation = try await self.lockedCreateOperation(key: key, in: db)
            switch operation.state {
            case .failed where operation.holdID == hold.id:
                return
            case .pending:
                // Nothing is minted for an intent that holds no money.
                if try await db.rows(PostgresHoldRow.insertIfNew, holdValues, logger: self.logger).isEmpty {
                    throw HoldStoreError.conflict("hold \(hold.id) already exists")
                }
                try await db.rows(PostgresCreateOperationRow.markRefused, [.text(hold.id), .failure(failure), .date(at), .text(key)], logger: self.logger)
            default:
                throw HoldStoreError.conflict("create operation \(key) is \(operation.state.rawValue); it cannot record a refused intent")
            }
        }
    }

    public func pendingCreates() async throws -> [CreateOperation] {
        try await read("pendingCreates") { db in
            try await db.rows(PostgresCreateOperationRow.selectPending, logger: self.logger).map(PostgresCreateOperationRow.decode)
        }
    }

    private func lockedCreateOperation(key: String, in db: PostgresConnection) async throws -> CreateOperation {
        guard let row = try await db.rows(PostgresCreateOperationRow.selectByKeyForUpdate, [.text(key)], logger: logger).first else {
            throw HoldStoreError.notFound("create operation \(key)")
        }
        return try PostgresCreateOperationRow.decode(row)
    }
}
