#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// `LOG_FORMAT=json`: one JSON object per line, for log shippers that parse rather than
/// grep: `{"timestamp":"2026-11-27T12:00:00.123Z","level":"info","label":"chittycharge.http",
/// "message":"request","metadata":{"http.status":"200",…},"source":"ChittyChargeServer"}`.
/// Metadata values are flattened to strings (nested ones as swift-log prints them). Each
/// line is built whole and handed to a `LogOutput`, so concurrent lines never mix.
///
/// Hand-written rather than through `JSONEncoder`, which costs several microseconds per
/// line; a request log line is written for every request.
public typealias JSONLogHandler = LineLogHandler<JSONLogLine>

public enum JSONLogLine: LogLineFormat {
    /// One log line: the JSON object and its newline.
    public static func line(at time: timespec, level: Logger.Level, label: String, message: String, fields: [(key: String, value: Logger.Metadata.Value)], source: String) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(contentsOf: #"{"timestamp":""#.utf8)
        JSONLogHandler.appendTimestamp(time, to: &line)
        line.append(UInt8(ascii: "\""))
        line.append(contentsOf: #","level":"#.utf8)
        appendString(level.rawValue, to: &line)
        line.append(contentsOf: #","label":"#.utf8)
        appendString(label, to: &line)
        line.append(contentsOf: #","message":"#.utf8)
        appendString(message, to: &line)
        line.append(contentsOf: #","metadata":{"#.utf8)
        var first = true
        for (key, value) in fields {
            if !first { line.append(UInt8(ascii: ",")) }
            first = false
            appendString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            appendString(value.description, to: &line)
        }
        line.append(contentsOf: #"},"source":"#.utf8)
        appendString(source, to: &line)
        line.append(contentsOf: "}\n".utf8)
        return line
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string: quotes, backslashes and every control character escaped (RFC 8259);
    /// other UTF-8 passes through (a Swift string is always valid UTF-8).
    static func appendString(_ string: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): line.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): line.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): line.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): line.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): line.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20, 0x7F:
                line.append(contentsOf: #"\u00"#.utf8)
                line.append(hexDigits[Int(byte >> 4)])
                line.append(hexDigits[Int(byte & 0x0F)])
            default:
                line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }
}
