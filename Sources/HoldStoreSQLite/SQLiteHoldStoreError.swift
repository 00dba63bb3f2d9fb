/// Why a database file could not be opened as a hold store. (Errors of individual
/// store calls are `HoldStoreError`s.)
public enum SQLiteHoldStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file was migrated by a newer build: this one does not know its schema, and
    /// writing to it could corrupt what the newer build relies on.
    case schemaTooNew(found: Int, supported: Int)
    /// SQLite would not switch the file to write-ahead logging (for example on a file
    /// system without shared memory); readers beside the writer depend on it.
    case walUnavailable(journalMode: String)
    /// Opening or migrating the file failed.
    case openFailed(path: String, reason: String)
    /// Another live process serves this file (it holds `lockFile`).
    case inUseByAnotherProcess(path: String, lockFile: String)

    public var description: String {
        switch self {
        case .schemaTooNew(let found, let supported):
            "the database has schema version \(found), newer than the \(supported) this build knows; refusing to open it (use a newer build)"
        case .walUnavailable(let journalMode):
            "could not enable WAL journal mode (SQLite kept \"\(journalMode)\")"
        case .openFailed(let path, let reason):
            "could not open the hold store at \(path): \(reason)"
        case .inUseByAnotherProcess(let path, let lockFile):
            "the SQLite database \(path) is already served by another process (it holds \(lockFile)). A SQLite file serves one "
                + "instance; to run several, use PostgreSQL (DATABASE_URL=postgres://…, see README › Running several instances)"
        }
    }
}
