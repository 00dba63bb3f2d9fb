import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    static let selectChittyID = "SELECT chitty_id FROM holds WHERE id = ?"

    public func claimMintJobs(at now: Date, leaseUntil: Date, limit: Int) async throws -> [ChittyIDMintJob] {
        guard limit > 0 else { return [] }
        return try await write("claimMintJobs") { db in
            let jobs = try await db.rows(MintJobRow.selectDue, [SQLiteData(now), .integer(limit)]).map(MintJobRow.decode)
            for job in jobs {
                try await db.execute(MintJobRow.lease, [SQLiteData(leaseUntil), .text(job.holdID)])
            }
            return jobs
        }
    }

    public func recordMinted(holdID: String, chittyID: String, at: Date) async throws {
        defer { holdCache.invalidate(id: holdID) }
        try await write("recordMinted") { db in
            guard let row = try await db.rows(Self.selectChittyID, [.text(holdID)]).first else {
                throw HoldStoreError.notFound("hold \(holdID)")
            }
            let current = try RowReader(row: row, table: "holds", keyColumn: "chitty_id").optionalString("chitty_id")
            switch current {
            case chittyID:
                break // Recorded before; only make sure no job is left behind.
            case nil:
                do {
                    try await db.execute(HoldRow.setMinted, [.text(chittyID), SQLiteData(at), .text(holdID)])
                } catch let error as SQLiteError where error.isUniquenessViolation {
                    throw HoldStoreError.conflict("ChittyID \(chittyID) already belongs to another hold")
                }
            case let other?:
                throw HoldStoreError.conflict("hold \(holdID) already has ChittyID \(other)")
            }
            try await db.execute(MintJobRow.delete, [.text(holdID)])
        }
    }

    public func rescheduleMint(_ job: ChittyIDMintJob) async throws {
        try await writeStatement("rescheduleMint") { db in
            let updated = try await db.rows(MintJobRow.reschedule, [
                .integer(job.attempts), SQLiteData(job.nextAttemptAt), SQLiteData(job.lastError), .text(job.holdID),
            ])
            if updated.isEmpty {
                throw HoldStoreError.notFound("ChittyID mint job for hold \(job.holdID)")
            }
        }
    }
}
