import ChittyChargeServer
import Foundation
import Logging
import Testing

/// The buffered output behind `serve`'s logs: every line arrives whole, once, and in the
/// order each thread wrote it, including lines past the buffer's limit; `flush` returns only
/// when all of them are out.
@Suite struct LogOutputTests {
    static func temporaryFile() throws -> (path: String, descriptor: Int32) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-output-\(UUID().uuidString)").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(descriptor >= 0, "cannot open \(path)")
        return (path, descriptor)
    }

    @Test(arguments: [1 << 20, 512])
    func concurrentLinesArriveWholeOnceAndInOrder(maximumPending: Int) async throws {
        let (path, descriptor) = try Self.temporaryFile()
        defer {
            close(descriptor)
            try? FileManager.default.removeItem(atPath: path)
        }
        let output = LogOutput(fileDescriptor: descriptor, maximumPending: maximumPending)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for line in 0..<500 {
                        output.write(Array("writer \(writer) line \(line) \(String(repeating: "x", count: line % 97))\n".utf8))
                    }
                }
            }
        }
        output.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4_000)
        for writer in 0..<8 {
            let numbers = lines.filter { $0.hasPrefix("writer \(writer) ") }.compactMap { Int($0.split(separator: " ")[3]) }
            #expect(numbers == Array(0..<500), "writer \(writer)'s lines are complete and in order")
        }
        #expect(lines.allSatisfy { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            return parts.count == 5 && parts[4].count == (Int(parts[3]) ?? -1) % 97
        })
    }

    @Test func theTextFormatGoesThroughTheSameOutput() throws {
        let (path, descriptor) = try Self.temporaryFile()
        defer {
            close(descriptor)
            try? FileManager.default.removeItem(atPath: path)
        }
        let output = LogOutput(fileDescriptor: descriptor)
        let logger = Logger(label: "text.test") { TextLogHandler(label: $0, output: output, metadataProvider: nil) }
        logger.info("hello", metadata: ["request.id": "r-1"])
        output.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("Z info text.test: request.id=r-1 [ChittyChargeServerTests] hello\n"), "\(text)")
    }
}
