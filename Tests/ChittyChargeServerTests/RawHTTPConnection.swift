import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP connection for what an HTTP client library will not send: half-written
/// heads, broken chunked bodies, uploads cut off midway.
final class RawHTTPConnection: @unchecked Sendable {  // one test uses it at a time
    private let socketDescriptor: Int32

    init(port: Int) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw HarnessError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socketDescriptor)
            throw HarnessError("connect() to port \(port) failed")
        }
    }

    deinit { close(socketDescriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(socketDescriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Stops sending: the server sees the end of the stream.
    func shutdownWriting() { shutdown(socketDescriptor, Int32(SHUT_WR)) }

    /// Everything the server sends until it closes the connection, or nil when it is still
    /// open after `timeout` seconds. The wait blocks a thread of its own: never one of Swift
    /// concurrency's few cooperative threads, which the server under test needs to answer,
    /// nor a dispatch worker (Linux runs as many as there are cores, so concurrent waits
    /// would queue behind each other).
    func readUntilClosed(timeout: TimeInterval) async -> String? {
        await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: self.blockingReadUntilClosed(timeout: timeout))
            }.start()
        }
    }

    private func blockingReadUntilClosed(timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: socketDescriptor, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, remaining) > 0 else { continue }
            let count = recv(socketDescriptor, &buffer, buffer.count, 0)
            if count <= 0 { return String(decoding: received, as: UTF8.self) }
            received += buffer[0..<count]
        }
        return nil
    }
}
