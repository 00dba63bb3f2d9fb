/// Positions in a test file's text, so a property manager is told `tests/x.json:12:5`
/// rather than a byte offset or nothing at all.
enum PolicyTestFilePosition {
    /// 1-based line and column of a byte offset; the column counts characters, not bytes.
    static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<end where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        // UTF-8 continuation bytes (10xxxxxx) do not start a character.
        let column = bytes[lineStart..<end].filter { $0 & 0xC0 != 0x80 }.count + 1
        return (line, column)
    }

    /// Byte offsets where each element of the top-level list starts. The text must already
    /// have parsed as JSON (so strings and nesting are well formed); otherwise the result
    /// is incomplete, never wrong for the elements it names.
    static func listElementOffsets(in bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var depth = 0
        var inString = false
        var escaped = false
        var expectingElement = false
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            default: break
            }
            if depth == 1 && expectingElement && byte != UInt8(ascii: "]") {
                offsets.append(index)
                expectingElement = false
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth == 1 && byte == UInt8(ascii: "[") { expectingElement = true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { expectingElement = true }
            default: break
            }
        }
        return offsets
    }
}
