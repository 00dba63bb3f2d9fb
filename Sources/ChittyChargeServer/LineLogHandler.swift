#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// How one event becomes one line of bytes, newline included.
public protocol LogLineFormat: Sendable {
    static func line(at time: timespec, level: Logger.Level, label: String, message: String,
                     fields: [(key: String, value: Logger.Metadata.Value)], source: String) -> [UInt8]
}

/// `serve`'s log handler: each event is built whole as one line in `Format` and handed to a
/// `LogOutput`, so concurrent lines never mix. `LOG_FORMAT=text` is `TextLogHandler`,
/// `LOG_FORMAT=json` is `JSONLogHandler`.
public struct LineLogHandler<Format: LogLineFormat>: LogHandler {
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

    public static func standardOutput(label: String) -> Self {
        Self(label: label, output: .standardOutput)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        output.write(Format.line(
            at: Self.currentTime(), level: event.level, label: label, message: event.message.description,
            fields: Self.fields(metadata, provider: metadataProvider, event: event), source: event.source))
    }

    static func line(at time: timespec, level: Logger.Level, label: String, message: String,
                     fields: [(key: String, value: Logger.Metadata.Value)], source: String) -> [UInt8] {
        Format.line(at: time, level: level, label: label, message: message, fields: fields, source: source)
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
