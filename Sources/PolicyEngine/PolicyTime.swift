import CLuaShim
import Foundation
import JSON

/// Times where a property manager writes or reads them: hook results, test files and
/// `policy eval` take Unix seconds or ISO-8601 text ("2025-07-12T16:00:00Z", offsets
/// allowed) for the same instant, and show ISO-8601 UTC.
public enum PolicyTime {
    /// Years 2000 to 2100: a time outside is a unit mistake (milliseconds) or a typo.
    public static let plausibleSeconds: ClosedRange<Int64> = 946_684_800...4_102_444_800

    /// Reads ISO-8601 text with the parser behind `chitty.parse_time`, so a policy and its
    /// tests agree on what a time means. Nil when the text is not such a time.
    public static func seconds(fromISO text: String) -> Int64? {
        var seconds: Int64 = 0
        let parsed = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.withMemoryRebound(to: CChar.self) { ccl_parse_iso8601($0.baseAddress, $0.count, &seconds) }
        } ?? Array(text.utf8CString.dropLast()).withUnsafeBufferPointer { ccl_parse_iso8601($0.baseAddress, $0.count, &seconds) }
        return parsed == 1 ? seconds : nil
    }

    /// Unix seconds from a whole number or ISO-8601 text; nil for anything else.
    public static func seconds(from value: JSONValue) -> Int64? {
        if let integer = value.integerValue { return integer }
        if let text = value.stringValue { return seconds(fromISO: text) }
        return nil
    }

    /// "2025-07-12T16:00:00Z".
    public static func iso(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var fields = tm()
        guard gmtime_r(&time, &fields) != nil else { return "\(seconds)" }
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(fields.tm_year) + 1900, Int(fields.tm_mon) + 1, Int(fields.tm_mday),
            Int(fields.tm_hour), Int(fields.tm_min), Int(fields.tm_sec))
    }
}

extension PolicyHook {
    /// The decision fields that hold a time (Unix seconds in stored decisions).
    var decisionTimeFields: [String] {
        self == .holdSchedule ? ["at"] : []
    }

    /// A decision as a person reads it: each time as ISO-8601 UTC, with the seconds beside
    /// it as `<field>_unix` when `withSeconds` (what `policy eval` prints; test failures
    /// show the ISO text alone).
    public func readable(_ decision: JSONValue, withSeconds: Bool = true) -> JSONValue {
        guard case .object(var fields) = decision else { return decision }
        for name in decisionTimeFields {
            guard let seconds = fields[name]?.integerValue else { continue }
            fields[name] = .string(PolicyTime.iso(seconds))
            if withSeconds { fields["\(name)_unix"] = .integer(seconds) }
        }
        return .object(fields)
    }
}
