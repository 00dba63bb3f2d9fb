import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    public func claimCreate(_ operation: CreateOperation) async throws -> OperationClaim<CreateOperation> {
        let binds = try CreateOperationRow.binds(for: operation)
        return try await write("claimCreate") { db in
            do {
                try await db.execute(CreateOperationRow.insert, binds)
                return .started(operation)
            } catch let error as SQLiteError where error.isUniquenessViolation {
                // The failed INSERT leaves the transaction open: look up who holds the key.
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

    public func completeCreate(key: String, hold: Hold, at: Date) async throws {
        let holdBinds = try HoldRow.binds(for: hold)
        try await write("completeCreate") { db in
            let operation = try await Self.createOperation(key: key, in: db)
            switch operation.state {
            case .succeeded:
                // A retry of a completion that already happened: nothing to do.
                guard operation.holdID == hold.id else {
                    throw HoldStoreError.conflict(
                        "create operation \(key) already succeeded with hold \(operation.holdID ?? "(none)"), not \(hold.id)")
                }
                return
            case .failed:
                throw HoldStoreError.conflict("create operation \(key) already failed; it cannot succeed")
            case .pending:
                do {
                    try await db.execute(HoldRow.insert, holdBinds)
                } catch let error as SQLiteError where error.isUniquenessViolation {
                    throw HoldStoreError.conflict("hold \(hold.id) (or its ChittyID) already exists: \(error.message)")
                }
                try await db.execute(CreateOperationRow.markSucceeded, [.text(hold.id), SQLiteData(at), .text(key)])
                if hold.chittyID == nil {
                    try await db.execute(MintJobRow.enqueue, [.text(hold.id), SQLiteData(at)])
                }
            }
        }
    }

    public func failCreate(key: String, response: StoredResponse, at: Date) async throws {
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
                    .integer(response.status), SQLiteData(response.body), SQLiteData(at), .text(key),
                ])
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
