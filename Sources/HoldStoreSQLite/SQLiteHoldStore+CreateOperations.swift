import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    public func claimCreate(_ operation: CreateOperation, decision: PolicyDecisionRecord?) async throws -> OperationClaim<CreateOperation> {
        let operationBinds = try CreateOperationRow.binds(for: operation)
        let decisionBinds = decision.map { record in
            var record = record
            record.subject = operation.key
            return PolicyDecisionRow.binds(for: record)
        }
        return try await write("claimCreate") { db in
            do {
                try await db.execute(CreateOperationRow.insert, operationBinds)
            } catch let error as SQLiteError where error.isUniquenessViolation {
                // The failed INSERT changed nothing; the transaction is still ours to read in.
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
            // The decision that allowed or refused it, in the same transaction.
            if let decisionBinds {
                try await db.execute(PolicyDecisionRow.insert, decisionBinds)
            }
            return .started(operation)
        }
    }

    public func createOperation(key: String) async throws -> CreateOperation? {
        try await read("createOperation") { db in
            try await db.rows(CreateOperationRow.selectByKey, [.text(key)]).first.map(CreateOperationRow.decode)
        }
    }

    public func completeCreate(key: String, hold: Hold) async throws {
        let holdBinds = try HoldRow.insertBinds(for: hold)
        defer { holdCache.invalidate(id: hold.id) }
        try await write("completeCreate") { db in
            // The usual case looks at the operation only through the UPDATE's RETURNING;
            // it is read when something refused, to say why.
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
            // Only a pending operation completes; otherwise the hold's insert rolls back.
            let marked = try await db.rows(CreateOperationRow.markSucceeded, [.text(hold.id), SQLiteData(hold.updatedAt), .text(key)])
            guard !marked.isEmpty else {
                let operation = try await Self.createOperation(key: key, in: db)
                throw HoldStoreError.conflict("create operation \(key) is \(operation.state.rawValue); it cannot succeed with hold \(hold.id)")
            }
            if hold.chittyID == nil {
                try await db.execute(MintJobRow.insert, MintJobRow.binds(for: ChittyIDMintJob(
                    holdID: hold.id, attempts: 0, nextAttemptAt: hold.updatedAt, lastError: nil)))
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
                try await db.execute(CreateOperationRow.markFailed, [StoredOutcome.bind(failure), SQLiteData(at), .text(key)])
            }
        }
    }

    public func recordRefusedCreate(key: String, hold: Hold, failure: HoldServiceError, at: Date) async throws {
        let holdBinds = try HoldRow.insertBinds(for: hold)
        defer { holdCache.invalidate(id: hold.id) }
        try await write("recordRefusedCreate") { db in
            let operation = try await Self.createOperation(key: key, in: db)
            switch operation.state {
            case .failed where operation.holdID == hold.id:
                return
            case .pending:
                // Nothing is minted for an intent that holds no money.
                try await db.execute(HoldRow.insert, holdBinds)
                try await db.execute(CreateOperationRow.markRefused, [.text(hold.id), StoredOutcome.bind(failure), SQLiteData(at), .text(key)])
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
