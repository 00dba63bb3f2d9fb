import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

extension PostgresHoldStore: RateLimitLedger {
    /// One statement: the row lock on the key makes concurrent leases from every instance
    /// take turns, and a window that has ended starts again from this lease.
    /// Binds: key, now, window end for a new window, requested, limit.
    static let leaseQuota = """
        INSERT INTO rate_limit_windows AS w (key, window_start, window_end, granted, last_grant) \
        VALUES ($1, $2, $3, LEAST($4, $5), LEAST($4, $5)) \
        ON CONFLICT (key) DO UPDATE SET \
        window_start = CASE WHEN w.window_end <= $2 THEN $2 ELSE w.window_start END, \
        window_end = CASE WHEN w.window_end <= $2 THEN $3 ELSE w.window_end END, \
        last_grant = CASE WHEN w.window_end <= $2 THEN LEAST($4, $5) ELSE GREATEST(0, LEAST($4, $5 - w.granted)) END, \
        granted = CASE WHEN w.window_end <= $2 THEN LEAST($4, $5) ELSE w.granted + GREATEST(0, LEAST($4, $5 - w.granted)) END \
        RETURNING window_start, window_end, granted, last_grant
        """

    public func leaseQuota(key: String, limit: Int64, window: Int64, requested: Int64, at now: Date) async throws -> RateLimitLease {
        let values: [PostgresValue] = [
            .text(key), .date(now), .date(now.addingTimeInterval(TimeInterval(max(window, 1)))),
            .integer(Int(max(requested, 0))), .integer(Int(max(limit, 0))),
        ]
        return try await writeStatement("leaseQuota") { db in
            guard let row = try await db.rows(Self.leaseQuota, values, logger: self.logger).first else {
                throw HoldStoreError.database("leaseQuota: the upsert returned no row")
            }
            let column = PostgresRowReader(row, table: "rate_limit_windows", keyColumn: "window_start")
            return RateLimitLease(
                granted: Int64(try column.int("last_grant")), windowStart: try column.date("window_start"),
                windowEnd: try column.date("window_end"), grantedInWindow: Int64(try column.int("granted")))
        }
    }
}
