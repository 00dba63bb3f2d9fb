import Foundation

/// Stripe's request encoding: `application/x-www-form-urlencoded` with bracketed nesting
/// (`metadata[property_id]=p1`, `expand[0]=latest_charge`,
/// `payment_method_options[card][request_extended_authorization]=if_available`).
///
/// The output is deterministic (fields in the order given, dictionary keys sorted), so
/// the same parameters always produce the same bytes: Stripe compares a retried request
/// with the first one under the same idempotency key, and tests compare bodies.
public enum StripeFormEncoder {
    /// One parameter value: a scalar, or a small tree that flattens to bracketed keys.
    public enum Value: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
        ExpressibleByBooleanLiteral
    {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        /// Emitted as `name[key]=…`, keys sorted.
        case dictionary([String: Value])
        /// Emitted as `name[0]=…`, `name[1]=…` in order.
        case array([Value])

        public init(stringLiteral value: String) { self = .string(value) }
        public init(integerLiteral value: Int) { self = .integer(value) }
        public init(booleanLiteral value: Bool) { self = .boolean(value) }
    }

    /// One top-level field. The name is written by our code, so it may already contain a
    /// bracketed path (`payment_method_options[card][request_extended_authorization]`);
    /// its brackets stay literal. Keys inside `.dictionary` values are data (metadata
    /// keys come from callers) and are percent-encoded completely, brackets included.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: Value

        public init(_ name: String, _ value: Value) {
            self.name = name
            self.value = value
        }
    }

    /// The encoded body or query string, without a leading `?`.
    public static func encode(_ fields: [Field]) -> String {
        var pairs: [String] = []
        for field in fields {
            append(field.value, encodedName: percentEncode(field.name, keepingBrackets: true), to: &pairs)
        }
        return pairs.joined(separator: "&")
    }

    /// The encoded body as bytes, ready for `StripeHTTPRequest.body`.
    public static func encodeBody(_ fields: [Field]) -> Data {
        Data(encode(fields).utf8)
    }

    /// Percent-encodes every UTF-8 byte except RFC 3986's unreserved characters
    /// (`A-Z a-z 0-9 - . _ ~`). Space becomes `%20`, never `+`, so there is exactly one
    /// spelling of each value. With `keepingBrackets`, `[` and `]` stay literal (for names
    /// whose nesting our code wrote).
    public static func percentEncode(_ text: String, keepingBrackets: Bool = false) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingBrackets && (byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]"))) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded.append("%")
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return encoded
    }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func append(_ value: Value, encodedName: String, to pairs: inout [String]) {
        switch value {
        case .string(let text):
            pairs.append("\(encodedName)=\(percentEncode(text))")
        case .integer(let number):
            pairs.append("\(encodedName)=\(number)")
        case .boolean(let flag):
            pairs.append("\(encodedName)=\(flag ? "true" : "false")")
        case .dictionary(let entries):
            for key in entries.keys.sorted() {
                guard let nested = entries[key] else { continue }
                append(nested, encodedName: "\(encodedName)[\(percentEncode(key))]", to: &pairs)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                append(element, encodedName: "\(encodedName)[\(index)]", to: &pairs)
            }
        }
    }
}
