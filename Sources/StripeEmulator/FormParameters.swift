import Foundation

/// One decoded form value the way Stripe's API reads it: a string, a hash
/// (`metadata[k]=v`, `expand[0]=x`) or a list appended with empty brackets (`expand[]=x`).
public indirect enum FormValue: Sendable, Equatable {
    case string(String)
    case dictionary([String: FormValue])
    case list([FormValue])

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var dictionaryValue: [String: FormValue]? {
        if case .dictionary(let value) = self { return value }
        return nil
    }

    /// A list, or a hash whose keys are all array indices (`expand[0]`, `expand[1]`), in index
    /// order: clients encode arrays either way and Stripe accepts both.
    public var listValue: [FormValue]? {
        switch self {
        case .list(let items):
            return items
        case .dictionary(let entries):
            var indexed: [(index: Int, value: FormValue)] = []
            for (key, value) in entries {
                guard let index = Int(key), index >= 0, String(index) == key else { return nil }
                indexed.append((index, value))
            }
            return indexed.sorted { $0.index < $1.index }.map(\.value)
        case .string:
            return nil
        }
    }
}

/// Why a form body or query string could not be read. Stripe answers these with a 400
/// before looking at the parameters.
public struct FormDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// `application/x-www-form-urlencoded` parameters decoded into Stripe's nested shape.
///
/// Written independently of the client's encoder on purpose: if both shared one
/// implementation, a bug in it would round-trip and no test would notice.
public struct FormParameters: Sendable, Equatable {
    /// The top level: `amount`, `metadata`, `expand`, …
    public private(set) var values: [String: FormValue] = [:]

    public init() {}

    /// Decodes `a=1&metadata[k]=v&expand[]=x`: `+` is a space, `%XX` a byte, the bytes
    /// UTF-8. A repeated scalar keeps its last value (as Rack does, which Stripe runs on).
    public static func decode(_ encoded: String) throws(FormDecodingError) -> FormParameters {
        var parameters = FormParameters()
        try parameters.add(encoded)
        return parameters
    }

    /// Adds the pairs of another encoded string (the query string of a GET, say).
    public mutating func add(_ encoded: String) throws(FormDecodingError) {
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.percentDecode(parts[0])
            let value = parts.count > 1 ? try Self.percentDecode(parts[1]) : ""
            if key.isEmpty { continue }
            try set(value, forKey: key)
        }
    }

    /// Sets one decoded pair, `key` with brackets as written (`metadata[k]`).
    public mutating func set(_ value: String, forKey key: String) throws(FormDecodingError) {
        let path = try Self.keyPath(key)
        var root: FormValue? = .dictionary(values)
        try Self.insert(value, at: path[...], into: &root, fullKey: key)
        values = root?.dictionaryValue ?? [:]
    }

    public subscript(_ name: String) -> FormValue? { values[name] }

    public var isEmpty: Bool { values.isEmpty }

    /// Every leaf as `key[sub][0]=value`, lists written with indices so nothing collides:
    /// the call log's view, and (sorted) the idempotency fingerprint.
    public func flattened() -> [String: String] {
        var flat: [String: String] = [:]
        func walk(_ value: FormValue, _ prefix: String) {
            switch value {
            case .string(let string):
                flat[prefix] = string
            case .dictionary(let entries):
                for (key, child) in entries { walk(child, "\(prefix)[\(key)]") }
            case .list(let items):
                for (index, child) in items.enumerated() { walk(child, "\(prefix)[\(index)]") }
            }
        }
        for (key, value) in values { walk(value, key) }
        return flat
    }

    // MARK: - Decoding

    /// `metadata[a][b]` → `["metadata", "a", "b"]`; `expand[]` → `["expand", ""]`.
    static func keyPath(_ key: String) throws(FormDecodingError) -> [String] {
        guard let open = key.firstIndex(of: "[") else {
            guard !key.contains("]") else { throw FormDecodingError(description: "Invalid parameter name: \(key)") }
            return [key]
        }
        let base = String(key[..<open])
        guard !base.isEmpty, !base.contains("]") else {
            throw FormDecodingError(description: "Invalid parameter name: \(key)")
        }
        var path = [base]
        var rest = key[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw FormDecodingError(description: "Invalid parameter name: \(key)")
            }
            let component = rest[rest.index(after: rest.startIndex)..<close]
            guard !component.contains("[") else {
                throw FormDecodingError(description: "Invalid parameter name: \(key)")
            }
            path.append(String(component))
            rest = rest[rest.index(after: close)...]
        }
        // Empty brackets append to a list; anywhere but last they would need Rack's
        // ambiguous "merge into the last element" rule, which Stripe's clients never use.
        if path.dropLast().contains("") {
            throw FormDecodingError(description: "Invalid parameter name: \(key)")
        }
        return path
    }

    static func insert(_ value: String, at path: ArraySlice<String>, into node: inout FormValue?,
                       fullKey: String) throws(FormDecodingError) {
        guard let component = path.first else {
            switch node {
            case nil, .string?:
                node = .string(value)
            case .dictionary?, .list?:
                throw FormDecodingError(description: "Conflicting values for parameter \(fullKey)")
            }
            return
        }
        if component.isEmpty {
            switch node {
            case nil:
                node = .list([.string(value)])
            case .list(var items)?:
                items.append(.string(value))
                node = .list(items)
            case .string?, .dictionary?:
                throw FormDecodingError(description: "Conflicting values for parameter \(fullKey)")
            }
            return
        }
        var entries: [String: FormValue]
        switch node {
        case nil:
            entries = [:]
        case .dictionary(let existing)?:
            entries = existing
        case .string?, .list?:
            throw FormDecodingError(description: "Conflicting values for parameter \(fullKey)")
        }
        var child = entries[component]
        try insert(value, at: path.dropFirst(), into: &child, fullKey: fullKey)
        entries[component] = child
        node = .dictionary(entries)
    }

    /// `+` → space, `%XX` → byte, then strict UTF-8.
    static func percentDecode(_ encoded: Substring) throws(FormDecodingError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.utf8.count)
        var iterator = encoded.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw FormDecodingError(description: "Invalid percent-encoding in \(String(encoded))")
                }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw FormDecodingError(description: "Parameters must be valid UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
