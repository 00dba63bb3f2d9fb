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
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: LogOutput

    public init(label: String, output: LogOutput, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public static func standardOutput(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label, output: .standardOutput)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        output.write(Self.line(
            at: Self.currentTime(), level: event.level, label: label, message: event.message.description,
            fields: Self.fields(metadata, provider: metadataProvider, event: event), source: event.source))
    }

    /// The handler's metadata, then the provider's, then the event's own (later wins), and
    /// the event's error as two fields, sorted by key: what both formats print. Gathered
    /// into one array rather than merged dictionaries (a request line merges its eight
    /// fields into the logger's request id: about 1.5 % of a `GET /api/holds/{id}`).
    static func fields(_ metadata: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent) -> [(key: String, value: Logger.Metadata.Value)] {
        let provided = provider?.get() ?? [:]
        let explicit = event.metadata ?? [:]
        var errorFields: Logger.Metadata = [:]
        if let error = event.error {
            errorFields = ["error.message": .string("\(error)"), "error.type": .string(String(reflecting: type(of: error)))]
        }
        var fields: [(key: String, value: Logger.Metadata.Value)] = []
        fields.reserveCapacity(metadata.count + provided.count + explicit.count + errorFields.count)
        for (key, value) in metadata where provided[key] == nil && explicit[key] == nil && errorFields[key] == nil {
            fields.append((key, value))
        }
        for (key, value) in provided where explicit[key] == nil && errorFields[key] == nil {
            fields.append((key, value))
        }
        for (key, value) in explicit where errorFields[key] == nil {
            fields.append((key, value))
        }
        for (key, value) in errorFields {
            fields.append((key, value))
        }
        fields.sort { $0.key < $1.key }
        return fields
    }

    /// One log line: the JSON object and its newline.
    static func line(at time: timespec, level: Logger.Level, label: String, message: String, fields: [(key: String, value: Logger.Metadata.Value)], source: String) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(contentsOf: #"{"timestamp":""#.utf8)
        appendTimestamp(time, to: &line)
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

    /// ISO-8601 in UTC to the millisecond ("2026-11-27T12:00:00.123Z").
    static func timestamp(_ now: timespec = currentTime()) -> String {
        var bytes: [UInt8] = []
        appendTimestamp(now, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The timestamp's digits written straight into a line: no string is built per line.
    static func appendTimestamp(_ now: timespec = currentTime(), to line: inout [UInt8]) {
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) {
            var divisor: Int32 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        line.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        line.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        line.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        line.append(UInt8(ascii: "."))
        digits(Int32(now.tv_nsec / 1_000_000), 3)
        line.append(UInt8(ascii: "Z"))
    }

    static func currentTime() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }
}
