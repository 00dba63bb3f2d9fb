import SQLiteNIO

extension SQLiteConnection {
    /// Runs one statement and collects its rows.
    ///
    /// Calls the connection's own async `query`, which steps the statement on the thread
    /// pool and hands rows over synchronously; the protocol-extension variant would hop to
    /// an event loop once per row, which matters on the `hold(id:)` path.
    func rows(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        // Written only by `onRow`, which runs synchronously inside `query` on one thread
        // before `query` returns; read only after that.
        nonisolated(unsafe) var rows: [SQLiteRow] = []
        try await self.query(sql, binds) { rows.append($0) }
        return rows
    }

    /// Runs one statement whose rows, if any, are not needed.
    func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws {
        try await self.query(sql, binds) { _ in }
    }
}

extension SQLiteError {
    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    var isUniquenessViolation: Bool {
        switch reason {
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintUniqueRowIDFailed: true
        default: false
        }
    }

    /// Any constraint, a trigger's RAISE(ABORT) included.
    var isConstraintViolation: Bool {
        switch reason {
        case .constraint, .constraintCheckFailed, .constraintForeignKeyFailed, .constraintNotNullFailed,
             .constraintPrimaryKeyFailed, .constraintTriggerFailed, .constraintUniqueFailed, .constraintUniqueRowIDFailed:
            true
        default:
            false
        }
    }

    var isForeignKeyViolation: Bool {
        reason == .constraintForeignKeyFailed
    }

    /// `ROLLBACK` after SQLite already rolled the transaction back itself (it does so on
    /// some I/O and memory errors).
    var isNoActiveTransaction: Bool {
        message.contains("no transaction is active")
    }
}
