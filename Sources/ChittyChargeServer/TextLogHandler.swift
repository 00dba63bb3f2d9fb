#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// `LOG_FORMAT=text` (the default): swift-log's `StreamLogHandler` layout, one line per
/// event, `2026-11-27T12:00:00.123Z info chittycharge.http: http.status=200 request.id=… [ChittyChargeServer] request`,
/// metadata sorted by key, the time in UTC to the millisecond (as in the JSON format).
///
/// Written into one byte buffer per line: `StreamLogHandler` renders its metadata again
/// whenever a logger's metadata changes (every request sets its request id) and formats a
/// local time through `strftime`; its lines took 4.6 % of a `GET /api/holds/{id}`'s CPU,
/// these take 3.8 % (Benchmarks/README.md, "Performance against nginx + Lua").
public typealias TextLogHandler = LineLogHandler<TextLogLine>

public enum TextLogLine: LogLineFormat {
    public static func line(at time: timespec, level: Logger.Level, label: String, message: String, fields: [(key: String, value: Logger.Metadata.Value)], source: String) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        TextLogHandler.appendTimestamp(time, to: &line)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: level.rawValue.utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: label.utf8)
        line.append(UInt8(ascii: ":"))
        for (key, value) in fields {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            appendValue(value, to: &line)
        }
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: source.utf8)
        line.append(contentsOf: "] ".utf8)
        appendEscapingLineBreaks(message, to: &line)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// A value as swift-log prints it; strings are written as they are, other kinds through
    /// their description.
    private static func appendValue(_ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        switch value {
        case .string(let text): appendEscapingLineBreaks(text, to: &line)
        case .stringConvertible(let convertible): appendEscapingLineBreaks(convertible.description, to: &line)
        case .array, .dictionary: appendEscapingLineBreaks(value.description, to: &line)
        }
    }

    /// One event stays one line: a line break inside a message or value (an error's
    /// description, a hostile header echoed into a field) is written as `\n`.
    private static func appendEscapingLineBreaks(_ text: String, to line: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\n"): line.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): line.append(contentsOf: #"\r"#.utf8)
            default: line.append(byte)
            }
        }
    }
}
