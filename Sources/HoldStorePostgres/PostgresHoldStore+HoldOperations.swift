import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

/// How a `HoldOperation` maps to a row of `hold_operations`.
enum PostgresHoldOperationRow {
    static let columns = "key, hold_id, kind, amount, state, response_body, created_at, updated_at"
    /// Nothing when the key is taken or the hold already has a live operation (the partial
    /// unique index `hold_operations_one_live_per_hold`, for every instance).
    static let insertIfNew = """
        INSERT INTO hold_operations (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING key
        """
    static let selectByKey = "SELECT \(columns) FROM hold_operations WHERE key = $1"
    static let selectByKeyForUpdate = "SELECT \(columns) FROM hold_operations WHERE key = $1 FOR UPDATE"
    static let selectLiveForHold = "SELECT \(columns) FROM hold_operations WHERE hold_id = $1 AND state IN ('pending', 'succeeded')"
    static let selectPending = "SELECT \(columns) FROM hold_operations WHERE state = 'pending' ORDER BY created_at, key"
    static let markSucceeded = "UPDATE hold_operations SET state = 'succeeded', response_body = $1, updated_at = $2 WHERE key = $3"
    static let markFailed = "UPDATE hold_operations SET state = 'failed', response_body = $1, updated_at = $2 WHERE key = $3"

    static func values(for operation: HoldOperation) -> [PostgresValue] {
        [
            .text(operation.key), .text(operation.holdID), .text(operation.kind.rawValue), .integer(operation.amount),
            .text(operation.state.rawValue),
            operation.state == .failed ? .failure(operation.failure) : .receipt(operation.receipt),
            .date(operation.createdAt), .date(operation.updatedAt),
        ]
    }

    static func decode(_ row: PostgresRow) throws -> HoldOperation {
        try PostgresRowReader(row, table: "hold_operations", keyColumn: "key").holdOperation()
    }
}

extension PostgresHoldStore {
    public func claimOperation(_ operation: HoldOperation) async throws -> OperationClaim<HoldOperation> {
        let values = PostgresHoldOperationRow.values(for: operation)
        return try await transaction("claimOperation") { db in
            let inserted: [PostgresRow]
            do {
                inserted = try await db.rows(PostgresHoldOperationRow.insertIfNew, values, logger: self.logger)
            } catch where Self.sqlState(of: error) == "23503" {
                throw HoldStoreError.notFound("hold \(operation.holdID)")
            }
            if !inserted.isEmpty { return .started(operation) }
            if let row = try await db.rows(PostgresHoldOperationRow.selectLiveForHold, [.text(operation.holdID)], logger: self.logger).first {
                return .existing(try PostgresHoldOperationRow.decode(row))
            }
            // Not the index, so the key itself: the same claim made twice.
            if let row = try await db.rows(PostgresHoldOperationRow.selectByKey, [.text(operation.key)], logger: self.logger).first {
                let existing = try PostgresHoldOperationRow.decode(row)
                if existing.holdID == operation.holdID { return .existing(existing) }
            }
            throw HoldStoreError.conflict("hold operation key \(operation.key) is already in use")
        }
    }

    public func completeOperation(key: String, hold: Hold, receipt: HoldOperationReceipt, at: Date) async throws {
        let settleValues = PostgresHoldRow.settleValues(for: hold)
        try await transaction("completeOperation") { db in
            let operation = try await self.lockedHoldOperation(key: key, in: db)
            guard operation.holdID == hold.id else {
                throw HoldStoreError.conflict("hold operation \(key) is for hold \(operation.holdID), not \(hold.id)")
            }
            switch operation.state {
            case .succeeded:
                return
            case .failed:
                throw HoldStoreError.conflict("hold operation \(key) already failed; it cannot succeed")
            case .pending:
                if try await db.rows(PostgresHoldRow.settle, settleValues, logger: self.logger).isEmpty {
                    throw HoldStoreError.notFound("hold \(hold.id)")
                }
                try await db.rows(PostgresHoldOperationRow.markSucceeded, [.receipt(receipt), .date(at), .text(key)], logger: self.logger)
            }
        }
    }

    public func failOperation(key: String, failure: HoldServiceError, at: Date) async throws {
        try await transaction("failOperation") { db in
            let operation = try await self.lockedHoldOperation(key: key, in: db)
            switch operation.state {
            case .succeeded:
                throw HoldStoreError.conflict("hold operation \(key) already succeeded; it cannot fail")
            case .failed:
                return // Keep the first answer: retries must replay what the client was told.
            case .pending:
                try await db.rows(PostgresHoldOperationRow.markFailed, [.failure(failure), .date(at), .text(key)], logger: self.logger)
            }
        }
    }

    public func pendingOperations() async throws -> [HoldOperation] {
        try await read("pendingOperations") { db in
            try await db.rows(PostgresHoldOperationRow.selectPending, logger: self.logger).map(PostgresHoldOperationRow.decode)
        }
    }

    public func holdOperation(key: String) async throws -> HoldOperation? {
        try await read("holdOperation(key:)") { db in
            try await db.rows(PostgresHoldOperationRow.selectByKey, [.text(key)], logger: self.logger).first.map(PostgresHoldOperationRow.decode)
        }
    }

    private func lockedHoldOperation(key: String, in db: PostgresConnection) async throws -> HoldOperation {
        guard let row = try await db.rows(PostgresHoldOperationRow.selectByKeyForUpdate, [.text(key)], logger: logger).first else {
            throw HoldStoreError.notFound("hold operation \(key)")
        }
        return try PostgresHoldOperationRow.decode(row)
    }
}
