import JSON

/// What policies add to JSON values: their names for the types, and how `policy test`
/// cases match a result.
extension JSONValue {
    /// What a policy author calls the type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "nil"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "list"
        case .object: "table"
        }
    }

    /// True when every field of `expected` is present here with a matching value; nested
    /// tables are compared the same way and numbers by value (1 matches 1.0). Lists must
    /// have the same length. This is how `policy test` cases state their expectations.
    public func matches(_ expected: JSONValue) -> Bool {
        switch (self, expected) {
        case (.object(let actual), .object(let wanted)):
            return wanted.allSatisfy { key, value in actual[key].map { $0.matches(value) } ?? (value == .null) }
        case (.array(let actual), .array(let wanted)):
            return actual.count == wanted.count && zip(actual, wanted).allSatisfy { $0.matches($1) }
        case (.integer(let a), .number(let b)), (.number(let b), .integer(let a)):
            return Double(a) == b
        default:
            return self == expected
        }
    }
}
