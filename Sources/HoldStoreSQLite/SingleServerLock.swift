#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `<database>.lock`, held while a server has the file open: a
/// SQLite file serves one instance, and a second `serve` on it would break every
/// guarantee that needs one writer's view (idempotency across processes, rate limits, the
/// hold cache). `flock` rather than `fcntl` locks: an `fcntl` lock belongs to the process
/// and is dropped when any descriptor of the file closes, and two opens in one process
/// would not conflict; a `flock` lock belongs to its open file and is released when the
/// process dies, however it dies. The file itself stays (deleting it would race).
final class SingleServerLock: Sendable {
    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the lock beside `databasePath`, or throws `.inUseByAnotherProcess`.
    static func acquire(besides databasePath: String) throws -> SingleServerLock {
        let path = databasePath + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SQLiteHoldStoreError.openFailed(path: databasePath, reason: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            if reason == EWOULDBLOCK {
                throw SQLiteHoldStoreError.inUseByAnotherProcess(path: databasePath, lockFile: path)
            }
            throw SQLiteHoldStoreError.openFailed(path: databasePath, reason: "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        return SingleServerLock(path: path, descriptor: descriptor)
    }

    /// Closing the descriptor releases the lock.
    func release() {
        close(descriptor)
    }
}
