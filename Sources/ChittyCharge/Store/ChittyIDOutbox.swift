import Foundation

/// A hold still waiting for its ChittyID, with when to try next.
public struct ChittyIDMintJob: Sendable, Equatable {
    public var holdID: String
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?

    public init(holdID: String, attempts: Int, nextAttemptAt: Date, lastError: String?) {
        self.holdID = holdID
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

/// Holds still waiting for their ChittyID.
public protocol ChittyIDOutbox: Sendable {
    /// Jobs whose next attempt is due, oldest first.
    func dueMintJobs(at: Date, limit: Int) async throws -> [ChittyIDMintJob]
    /// Atomically: sets the hold's ChittyID (status minted) and removes its job.
    func recordMinted(holdID: String, chittyID: String, at: Date) async throws
    func rescheduleMint(_ job: ChittyIDMintJob) async throws
}
