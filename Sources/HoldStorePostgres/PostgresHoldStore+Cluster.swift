import ChittyCharge
import Foundation
import HoldStoreColumns
import PostgresNIO

extension PostgresHoldStore {
    public func recordHeartbeat(_ heartbeat: InstanceHeartbeat) async throws {
        try await writeStatement("recordHeartbeat") { db in
            try await db.rows("""
                INSERT INTO cluster_instances (id, address, started_at, heartbeat_at, active_revision, revision_problem) \
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET address = $2, started_at = $3, \
                heartbeat_at = $4, active_revision = $5, revision_problem = $6
                """, [.text(heartbeat.id), .text(heartbeat.address), .date(heartbeat.startedAt), .date(heartbeat.heartbeatAt),
                      .text(heartbeat.activeRevision), .text(heartbeat.revisionProblem)], logger: self.logger)
        }
    }

    public func instances(heartbeatSince since: Date) async throws -> [InstanceHeartbeat] {
        try await read("instances(heartbeatSince:)") { db in
            try await db.rows("""
                SELECT id, address, started_at, heartbeat_at, active_revision, revision_problem FROM cluster_instances \
                WHERE heartbeat_at >= $1 ORDER BY id
                """, [.date(since)], logger: self.logger).map { try PostgresRowReader($0, table: "cluster_instances", keyColumn: "id").instanceHeartbeat() }
        }
    }

    /// One statement: the row lock makes two instances' claims take turns.
    public func claimLease(_ name: String, owner: String, until: Date, at now: Date) async throws -> Bool {
        try await writeStatement("claimLease") { db in
            try await !db.rows("""
                INSERT INTO background_leases (name, owner, lease_until) VALUES ($1, $2, $3) \
                ON CONFLICT (name) DO UPDATE SET owner = $2, lease_until = $3 \
                WHERE background_leases.lease_until <= $4 OR background_leases.owner = $2 RETURNING name
                """, [.text(name), .text(owner), .date(until), .date(now)], logger: self.logger).isEmpty
        }
    }
}
