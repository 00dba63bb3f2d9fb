import Foundation

/// JSON with sorted keys: stable bodies for replays and stable request hashes.
public enum JSONCoding {
    public static func encode(_ value: JSONValue) -> Data {
        value.jsonData
    }

    /// A flat object of strings (metadata), keys sorted.
    public static func encode(_ object: [String: String]) -> Data {
        JSONValue.object(object.mapValues(JSONValue.string)).jsonData
    }

    public static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding our own plain values cannot fail; an empty object is the safe fallback.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: data)
    }
}
