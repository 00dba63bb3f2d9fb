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
    /// Up to `limit` jobs due at `now`, oldest first, as they were; each is then not due
    /// again before `leaseUntil`, so another instance's pass skips it while this one mints
    /// (and takes it over after `leaseUntil` if this one dies first).
    func claimMintJobs(at now: Date, leaseUntil: Date, limit: Int) async throws -> [ChittyIDMintJob]
    /// Atomically: sets the hold's ChittyID (status minted) and removes its job.
    func recordMinted(holdID: String, chittyID: String, at: Date) async throws
    func rescheduleMint(_ job: ChittyIDMintJob) async throws
}
