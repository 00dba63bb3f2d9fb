import Foundation
import Logging

/// Mints the ChittyIDs that could not be minted when their hold was placed, retrying with
/// backoff (5 s doubling, at most an hour).
public final class ChittyIDOutboxWorker: Sendable {
    public typealias Store = ChittyIDOutbox & HoldRecords

    let store: any Store
    let minter: any ChittyIDMinter
    let clock: any WallClock
    let batchSize: Int
    let logger: Logger
    private let flights = SingleFlight<Bool>()

    public init(store: any Store, minter: any ChittyIDMinter, clock: any WallClock, configuration: HoldServiceConfiguration, logger: Logger) {
        self.store = store
        self.minter = minter
        self.clock = clock
        self.batchSize = configuration.mintBatchSize
        self.logger = logger
    }

    /// Mints the ChittyID of one hold now. True when it is minted (by this call or before).
    @discardableResult
    public func mint(holdID: String) async -> Bool {
        await flights.run(holdID) { [self] in
            guard let hold = try? await store.hold(id: holdID) else { return false }
            if hold.chittyIDStatus == .minted { return true }
            do {
                let chittyID = try await minter.mint(entityType: "AUTH", metadata: hold.chittyIDMintMetadata)
                try await store.recordMinted(holdID: holdID, chittyID: chittyID, at: clock.now())
                logger.info("ChittyID minted", metadata: ["hold.id": .string(holdID), "chitty_id": .string(chittyID)])
                return true
            } catch {
                logger.warning("ChittyID minting failed; the outbox will retry", metadata: ["hold.id": .string(holdID), "error": "\(error)"])
                return false
            }
        }
    }

    /// How long a pass has the jobs it claimed to itself: longer than a pass of minting takes.
    static let claimLease: TimeInterval = 300

    /// One pass over the due jobs. Returns how many were minted.
    @discardableResult
    public func processDueJobs() async -> Int {
        let jobs: [ChittyIDMintJob]
        do {
            let now = clock.now()
            jobs = try await store.claimMintJobs(at: now, leaseUntil: now.addingTimeInterval(Self.claimLease), limit: batchSize)
        } catch {
            logger.error("could not read the ChittyID outbox", metadata: ["error": "\(error)"])
            return 0
        }
        var minted = 0
        for job in jobs {
            if await mint(holdID: job.holdID) {
                minted += 1
                continue
            }
            let attempts = job.attempts + 1
            let delay = min(3600, 5 * pow(2, Double(min(attempts - 1, 20))))
            let next = ChittyIDMintJob(holdID: job.holdID, attempts: attempts, nextAttemptAt: clock.now().addingTimeInterval(delay),
                                       lastError: "minting failed (attempt \(attempts))")
            do {
                try await store.rescheduleMint(next)
            } catch {
                logger.error("could not reschedule a ChittyID job", metadata: ["hold.id": .string(job.holdID), "error": "\(error)"])
            }
        }
        return minted
    }
}
