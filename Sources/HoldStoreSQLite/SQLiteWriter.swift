import ChittyCharge
import Logging
import SQLiteNIO

/// The one connection that writes, and the lock that keeps its transactions apart.
///
/// SQLite allows one writer at a time anyway; funnelling every write through one
/// connection turns what would be `SQLITE_BUSY` retries into a plain queue.
final class SQLiteWriter: Sendable {
    let connection: SQLiteConnection
    private let lock = SerialGate()
    private let logger: Logger

    init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    ///
    /// The transaction runs in its own task so that cancelling the caller cannot stop it
    /// between statements: the thread pool drops work items of a cancelled task, which
    /// would otherwise skip the `COMMIT` or `ROLLBACK` and leave the connection inside an
    /// open transaction. A started transaction always ends, one way or the other.
    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let connection = self.connection
        let logger = self.logger
        let lock = self.lock
        return try await Task {
            try await lock.run {
                // IMMEDIATE takes the write lock now, so no statement inside can fail with
                // SQLITE_BUSY half-way because another process began writing.
                try await connection.execute("BEGIN IMMEDIATE")
                do {
                    let result = try await body(connection)
                    try await connection.execute("COMMIT")
                    return result
                } catch {
                    do {
                        try await connection.execute("ROLLBACK")
                    } catch let rollbackError as SQLiteError where rollbackError.isNoActiveTransaction {
                        // SQLite already rolled back on its own.
                    } catch let rollbackError {
                        logger.error("ROLLBACK failed", metadata: ["error": "\(rollbackError)", "cause": "\(error)"])
                    }
                    throw error
                }
            }
        }.value
    }

    /// Runs `body` with the writer to itself but outside a transaction: for PRAGMAs that
    /// cannot run inside one, and for reads of an in-memory database (no readers there).
    func exclusive<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        try await lock.run { try await body(connection) }
    }

    func close() async throws {
        try await lock.run { try await connection.close() }
    }
}
