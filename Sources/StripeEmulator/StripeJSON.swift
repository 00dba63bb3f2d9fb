import Foundation

/// A JSON value as the emulator writes it. Objects are built explicitly (rather than with
/// Codable models) because Stripe writes `null` for absent fields instead of omitting
/// them, and some fields (`latest_charge`) are either an id or an expanded object.
public indirect enum StripeJSON: Sendable, Equatable, Encodable, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([StripeJSON])
    case object([String: StripeJSON])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: StripeJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, StripeJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public static func optional(_ string: String?) -> StripeJSON { string.map(StripeJSON.string) ?? .null }
    public static func optional(_ int: Int?) -> StripeJSON { int.map(StripeJSON.int) ?? .null }
    /// Stripe timestamps are whole Unix seconds.
    public static func timestamp(_ date: Date?) -> StripeJSON {
        date.map { .int(Int($0.timeIntervalSince1970.rounded(.down))) } ?? .null
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Sorted keys so a response is a pure function of the state: replays and test
    /// fixtures compare byte for byte.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding this enum cannot fail: no floats, no non-string keys.
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    public subscript(_ key: String) -> StripeJSON? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}
