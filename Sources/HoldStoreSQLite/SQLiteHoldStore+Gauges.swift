import ChittyCharge
import Foundation
import SQLiteNIO

extension SQLiteHoldStore {
    /// One read for every gauge, so a scrape costs one round trip to the store's threads.
    /// `holds_scheduled` serves the first two counts, `holds_by_status` the third.
    static let selectOperationalGauges = """
        SELECT \
        (SELECT COUNT(*) FROM holds WHERE scheduled_action IS NOT NULL AND scheduled_at <= ?1) AS due, \
        (SELECT COUNT(*) FROM holds WHERE scheduled_action IS NOT NULL AND scheduled_at <= ?2) AS overdue, \
        (SELECT COUNT(*) FROM holds WHERE status = 'requires_capture' AND capture_before IS NOT NULL \
        AND (scheduled_action IS NULL OR scheduled_at > capture_before - ?3)) AS flagged, \
        (SELECT COUNT(*) FROM chittyid_outbox) AS outbox
        """

    public func operationalGauges(at now: Date, overdueAfter: TimeInterval, expiryMargin: TimeInterval) async throws -> OperationalGauges {
        let binds: [SQLiteData] = [
            SQLiteData(now), SQLiteData(now.addingTimeInterval(-overdueAfter)), .integer(Int((expiryMargin * 1000).rounded())),
        ]
        return try await read("operationalGauges") { db in
            guard let row = try await db.rows(Self.selectOperationalGauges, binds).first else {
                throw HoldStoreError.database("operationalGauges: the counts returned no row")
            }
            func count(_ column: String) throws -> Int {
                guard let value = row.column(column)?.integer else {
                    throw HoldStoreError.database("operationalGauges: \(column) is not an integer")
                }
                return value
            }
            return OperationalGauges(
                scheduledActionsDue: try count("due"), scheduledActionsOverdue: try count("overdue"),
                holdsWithoutActionBeforeExpiry: try count("flagged"), chittyIDOutboxDepth: try count("outbox"))
        }
    }
}
