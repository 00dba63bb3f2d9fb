#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Where `serve`'s log lines go (both formats): whole lines, in order, never interleaved.
///
/// Writing each line with its own `write(2)` on the thread that logs put a system call,
/// and any stall of the disk behind it, into every request on the event loop: with one
/// request line per request, `GET /api/holds/{id}` lost a third of its throughput and its
/// p99 passed 100 ms while a log file was being flushed. So a line is appended to a buffer,
/// and a writer thread writes what has gathered `flushDelay` after the first line, in one
/// call. Waking the writer for every line cost the request threads almost as much as the
/// write itself; with the delay a busy server makes a few hundred writes a second whatever
/// its request rate. A buffer past `maximumPending` is written by the caller itself, so a
/// stalled output slows logging down rather than growing memory. Lines still buffered when
/// the process crashes (at most `flushDelay`'s worth) are lost; call `flush()` before a
/// normal exit.
public final class LogOutput: Sendable {
    private let sink: @Sendable ([UInt8]) -> Void
    private let drain: @Sendable () -> Void

    /// Lines go straight to `sink`, on the logging thread (tests, custom destinations).
    public init(_ sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.sink = sink
        self.drain = {}
    }

    /// Lines are buffered and written to `descriptor` by a writer thread.
    public convenience init(fileDescriptor descriptor: Int32, flushDelay: Duration = .milliseconds(5), maximumPending: Int = 1 << 20) {
        let writer = DescriptorWriter(descriptor: descriptor, flushDelay: flushDelay, maximumPending: maximumPending)
        self.init(sink: writer.append, drain: writer.flush)
    }

    private init(sink: @escaping @Sendable ([UInt8]) -> Void, drain: @escaping @Sendable () -> Void) {
        self.sink = sink
        self.drain = drain
    }

    public static let standardOutput = LogOutput(fileDescriptor: STDOUT_FILENO)
    public static let standardError = LogOutput(fileDescriptor: STDERR_FILENO)

    /// `line` must end with its newline.
    public func write(_ line: [UInt8]) {
        sink(line)
    }

    /// Returns once every line written before the call is out.
    public func flush() {
        drain()
    }
}

/// The buffer and writer thread behind `LogOutput(fileDescriptor:)`.
private final class DescriptorWriter: Sendable {
    private struct Pending {
        var bytes: [UInt8] = []
        var drainScheduled = false
    }

    private let descriptor: Int32
    private let flushDelay: DispatchTimeInterval
    private let maximumPending: Int
    private let pending = Mutex(Pending())
    /// Held while bytes are taken from the buffer and written, so writes keep their order.
    private let writing = Mutex(())
    private let queue = DispatchQueue(label: "chittycharge.log-output")

    init(descriptor: Int32, flushDelay: Duration, maximumPending: Int) {
        self.descriptor = descriptor
        let (seconds, attoseconds) = flushDelay.components
        self.flushDelay = .nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        self.maximumPending = maximumPending
    }

    func append(_ line: [UInt8]) {
        let (schedule, full) = pending.withLock { state -> (Bool, Bool) in
            state.bytes.append(contentsOf: line)
            let full = state.bytes.count >= maximumPending
            guard !state.drainScheduled, !full else { return (false, full) }
            state.drainScheduled = true
            return (true, false)
        }
        if full {
            flush()
        } else if schedule {
            queue.asyncAfter(deadline: .now() + flushDelay) { self.flush() }
        }
    }

    /// Writes everything buffered, including what arrives meanwhile.
    func flush() {
        writing.withLock { _ in
            while true {
                let bytes = pending.withLock { state -> [UInt8] in
                    if state.bytes.isEmpty {
                        state.drainScheduled = false
                        return []
                    }
                    var taken: [UInt8] = []
                    taken.reserveCapacity(state.bytes.count)
                    swap(&taken, &state.bytes)
                    return taken
                }
                if bytes.isEmpty { return }
                writeAll(bytes)
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return // Nowhere to report a failing log output; the lines are dropped.
                }
                offset += written
            }
        }
    }
}
