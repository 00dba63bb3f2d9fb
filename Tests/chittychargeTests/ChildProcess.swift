import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// Starts the `chittycharge` binary for the CLI suites through swift-subprocess, not
/// Foundation's `Process`: on Linux with Swift 6.3.1, `Process.run()` copies a whole
/// 256-byte `d_name` for every entry of /proc/self/fd, reading past glibc's readdir buffer,
/// and now and then crashes the test process (swift-corelibs-foundation#5472; it failed
/// our CI). swift-subprocess closes inherited descriptors in C (close_range/getdents64).
enum ChildProcess {
    struct Finished: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to the end with no input; both outputs collected (up to 16 MiB each).
    /// `environment` replaces this process's own when given.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) async throws -> Finished {
        let result = try await Subprocess.run(
            .path(FilePath(executable.path)), arguments: Arguments(arguments), environment: environment.map(custom) ?? .inherit,
            input: .none, output: .string(limit: 16 << 20), error: .string(limit: 16 << 20))
        return Finished(status: status(result.terminationStatus), stdout: result.standardOutput ?? "", stderr: result.standardError ?? "")
    }

    /// A running child, its output and error going to `logFile`, until `stop()`.
    final class Running: Sendable {
        let pid: pid_t
        private let finished: Task<Int32, any Error>
        /// Set once the child has been reaped: its pid may then belong to another process.
        private let ended: EndFlag

        private final class EndFlag: Sendable {
            let flag = Atomic<Bool>(false)
        }

        private init(pid: pid_t, finished: Task<Int32, any Error>, ended: EndFlag) {
            self.pid = pid
            self.finished = finished
            self.ended = ended
        }

        static func start(_ executable: URL, _ arguments: [String], environment: [String: String], logFile: URL) async throws -> Running {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let log = try FileDescriptor.open(FilePath(logFile.path), .writeOnly)
            let (started, startedContinuation) = AsyncStream<pid_t>.makeStream()
            let ended = EndFlag()
            let finished = Task {
                defer { ended.flag.store(true, ordering: .releasing) }
                defer { startedContinuation.finish() }
                let result = try await Subprocess.run(
                    .path(FilePath(executable.path)), arguments: Arguments(arguments), environment: custom(environment),
                    input: .none, output: .fileDescriptor(log, closeAfterSpawningProcess: true), error: .combinedWithOutput
                ) { execution in
                    startedContinuation.yield(execution.processIdentifier.value)
                }
                return status(result.terminationStatus)
            }
            var iterator = started.makeAsyncIterator()
            guard let pid = await iterator.next() else {
                _ = try await finished.value
                throw CocoaError(.executableLoad)
            }
            return Running(pid: pid, finished: finished, ended: ended)
        }

        /// Sends `signal` unless the child has ended already.
        func send(_ signal: Int32) {
            guard !ended.flag.load(ordering: .acquiring) else { return }
            kill(pid, signal)
        }

        /// Waits for the child to end by itself; its exit status (128 + the signal when a
        /// signal ended it).
        func waitForExit() async throws -> Int32 {
            try await finished.value
        }
    }

    private static func custom(_ environment: [String: String]) -> Environment {
        .custom(Dictionary(uniqueKeysWithValues: environment.compactMap { key, value in Environment.Key(rawValue: key).map { ($0, value) } }))
    }

    private static func status(_ termination: TerminationStatus) -> Int32 {
        switch termination {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}
