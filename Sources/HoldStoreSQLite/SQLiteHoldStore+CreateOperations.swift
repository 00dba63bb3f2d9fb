import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    public func claimCreate(_ operation: CreateOperation, decision: PolicyDecisionRecord?) async throws -> OperationClaim<CreateOperation> {
        var claimBinds = try CreateOperationRow.binds(for: operation)
        if let decision {
            let record = PolicyDecisionRow.binds(for: decision)
            // id, hook, revision, source, input, decision, (subject is the key), created_at
            claimBinds += [record[0], record[1], record[2], record[3], record[4], record[5], record[7]]
        } else {
            claimBinds += Array(repeating: .null, count: 7)
        }
        let binds = claimBinds
        // One statement (see the create_claims view): atomic and durable by itself.
        return try await writeStatement("claimCreate") { db in
            do {
                try await db.execute(CreateOperationRow.insertClaim, binds)
                return .started(operation)
            } catch let error as SQLiteError where error.isUniquenessViolation {
                // Still holding the writer: look up who holds the key.
                if let clientKey = operation.clientIdempotencyKey,
                   let row = try await db.rows(CreateOperationRow.selectByClientKey, [.text(operation.client), .text(clientKey)]).first {
                    return .existing(try CreateOperationRow.decode(row))
                }
                if let row = try await db.rows(CreateOperationRow.selectByKey, [.text(operation.key)]).first {
                    let existing = try CreateOperationRow.decode(row)
                    if existing.client == operation.client { return .existing(existing) }
                }
                throw HoldStoreError.conflict("create operation key \(operation.key) is already in use")
            }
        }
    }

    public func createOperation(key: String) async throws -> CreateOperation? {
        try await read("createOperation") { db in
            try await db.rows(CreateOperationRow.selectByKey, [.text(key)]).first.map(CreateOperationRow.decode)
        }
    }

    public func completeCreate(key: String, hold: Hold) async throws {
        let holdBinds = try HoldRow.binds(for: hold) + [.text(hold.owner)]
        defer { holdCache.invalidate(id: hold.id) }
        // One INSERT; the schema's triggers mark the operation succeeded and queue the
        // mint job in the same statement. When it is refused, find out why.
        try await writeStatement("completeCreate") { db in
            do {
                try await db.execute(HoldRow.insert, holdBinds)
            } catch let error as SQLiteError where error.isConstraintViolation {
                let operation = try await Self.createOperation(key: key, in: db)
                switch operation.state {
                case .succeeded where operation.holdID == hold.id:
                    // A retry of a completion that already happened: nothing to do.
                    return
                case .succeeded:
                    throw HoldStoreError.conflict(
                        "create operation \(key) already succeeded with hold \(operation.holdID ?? "(none)"), not \(hold.id)")
                case .failed:
                    throw HoldStoreError.conflict("create operation \(key) already failed; it cannot succeed")
                case .pending:
                    throw HoldStoreError.conflict("hold \(hold.id) (or its ChittyID) already exists: \(error.message)")
                }
            }
        }
    }

    public func failCreate(key: String, failure: HoldServiceError, at: Date) async throws {
        try await write("failCreate") { db in
            let operation = try await Self.createOperation(key: key, in: db)
            switch operation.state {
            case .succeeded:
                throw HoldStoreError.conflict("create operation \(key) already succeeded; it cannot fail")
            case .failed:
                // Keep the first answer: retries must replay what the client was told.
                return
            case .pending:
                try await db.execute(CreateOperationRow.markFailed, [
                    .null, StoredOutcome.bind(failure), SQLiteData(at), .text(key),
                ])
            }
        }
    }

    public func recordRefusedCreate(key: String, hold: Hold, failure: HoldServiceError, at: Date) async throws {
        let holdBinds = try HoldRow.binds(for: hold) + [.text(hold.owner)]
        defer { holdCache.invalidate(id: hold.id) }
        try await write("recordRefusedCreate") { db in
            let operation = try await Self.createOperation(key: key, in: db)
            switch operation.state {
            case .failed where operation.holdID == hold.id:
                return
            case .pending:
                // The insert's triggers mark the operation succeeded and queue a ChittyID;
                // in the same transaction it is marked failed instead, and nothing is minted
                // for an intent that holds no money.
                try await db.execute(HoldRow.insert, holdBinds)
                try await db.execute(CreateOperationRow.markFailed, [
                    .null, StoredOutcome.bind(failure), SQLiteData(at), .text(key),
                ])
                try await db.execute("DELETE FROM chittyid_outbox WHERE hold_id = ?", [.text(hold.id)])
            default:
                throw HoldStoreError.conflict("create operation \(key) is \(operation.state.rawValue); it cannot record a refused intent")
            }
        }
    }

    public func pendingCreates() async throws -> [CreateOperation] {
        try await read("pendingCreates") { db in
            try await db.rows(CreateOperationRow.selectPending).map(CreateOperationRow.decode)
        }
    }

    private static func createOperation(key: String, in db: SQLiteConnection) async throws -> CreateOperation {
        guard let row = try await db.rows(CreateOperationRow.selectByKey, [.text(key)]).first else {
            throw HoldStoreError.notFound("create operation \(key)")
        }
        return try CreateOperationRow.decode(row)
    }
}
