import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    /// The compare-and-set is the partial unique index `hold_operations_one_live_per_hold`:
    /// the INSERT itself is refused when the hold has a live operation, so no read-then-
    /// write race exists even across processes.
    public func claimOperation(_ operation: HoldOperation) async throws -> OperationClaim<HoldOperation> {
        let binds = HoldOperationRow.binds(for: operation)
        return try await write("claimOperation") { db in
            do {
                try await db.execute(HoldOperationRow.insert, binds)
                return .started(operation)
            } catch let error as SQLiteError where error.isUniquenessViolation {
                if let row = try await db.rows(HoldOperationRow.selectLiveForHold, [.text(operation.holdID)]).first {
                    return .existing(try HoldOperationRow.decode(row))
                }
                // Not the index, so the key itself: the same claim made twice.
                if let row = try await db.rows(HoldOperationRow.selectByKey, [.text(operation.key)]).first {
                    let existing = try HoldOperationRow.decode(row)
                    if existing.holdID == operation.holdID { return .existing(existing) }
                }
                throw HoldStoreError.conflict("hold operation key \(operation.key) is already in use")
            } catch let error as SQLiteError where error.isForeignKeyViolation {
                throw HoldStoreError.notFound("hold \(operation.holdID)")
            }
        }
    }

    public func completeOperation(key: String, hold: Hold, receipt: HoldOperationReceipt, at: Date) async throws {
        let settleBinds = HoldRow.settleBinds(for: hold)
        defer { holdCache.invalidate(id: hold.id) }
        try await write("completeOperation") { db in
            let operation = try await Self.holdOperation(key: key, in: db)
            guard operation.holdID == hold.id else {
                throw HoldStoreError.conflict("hold operation \(key) is for hold \(operation.holdID), not \(hold.id)")
            }
            switch operation.state {
            case .succeeded:
                return
            case .failed:
                throw HoldStoreError.conflict("hold operation \(key) already failed; it cannot succeed")
            case .pending:
                if try await db.rows(HoldRow.settle, settleBinds).isEmpty {
                    throw HoldStoreError.notFound("hold \(hold.id)")
                }
                try await db.execute(HoldOperationRow.markSucceeded, [
                    StoredOutcome.bind(receipt), SQLiteData(at), .text(key),
                ])
            }
        }
    }

    public func failOperation(key: String, failure: HoldServiceError, at: Date) async throws {
        try await write("failOperation") { db in
            let operation = try await Self.holdOperation(key: key, in: db)
            switch operation.state {
            case .succeeded:
                throw HoldStoreError.conflict("hold operation \(key) already succeeded; it cannot fail")
            case .failed:
                // Keep the first answer: retries must replay what the client was told.
                return
            case .pending:
                try await db.execute(HoldOperationRow.markFailed, [
                    StoredOutcome.bind(failure), SQLiteData(at), .text(key),
                ])
            }
        }
    }

    public func pendingOperations() async throws -> [HoldOperation] {
        try await read("pendingOperations") { db in
            try await db.rows(HoldOperationRow.selectPending).map(HoldOperationRow.decode)
        }
    }

    public func holdOperation(key: String) async throws -> HoldOperation? {
        try await read("holdOperation(key:)") { db in
            try await db.rows(HoldOperationRow.selectByKey, [.text(key)]).first.map(HoldOperationRow.decode)
        }
    }

    private static func holdOperation(key: String, in db: SQLiteConnection) async throws -> HoldOperation {
        guard let row = try await db.rows(HoldOperationRow.selectByKey, [.text(key)]).first else {
            throw HoldStoreError.notFound("hold operation \(key)")
        }
        return try HoldOperationRow.decode(row)
    }
}
