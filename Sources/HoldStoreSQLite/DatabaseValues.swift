import ChittyCharge
import Foundation
import JSON
import NIOCore
import SQLiteNIO

// How Swift values are written to columns. Times are integer Unix milliseconds: the
// store keeps times to the millisecond, and a `Date` with a finer fraction comes back
// rounded to the nearest millisecond.

extension Date {
    var unixMilliseconds: Int {
        Int((timeIntervalSince1970 * 1000).rounded())
    }

    init(unixMilliseconds: Int) {
        self.init(timeIntervalSince1970: Double(unixMilliseconds) / 1000)
    }
}

extension SQLiteData {
    init(_ string: String?) {
        self = string.map { .text($0) } ?? .null
    }

    init(_ integer: Int?) {
        self = integer.map { .integer($0) } ?? .null
    }

    init(_ date: Date?) {
        self = date.map { .integer($0.unixMilliseconds) } ?? .null
    }

    init(_ data: Data?) {
        self = data.map { .blob(ByteBuffer(bytes: $0)) } ?? .null
    }
}

/// JSON text for the columns that hold a structure (metadata, request parameters).
enum JSONColumn {
    static func encodeMetadata(_ metadata: [String: String]) throws -> String {
        metadata.isEmpty ? "{}" : String(decoding: JSONCoding.encode(metadata), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// Every hold read decodes its metadata; JSONSerialization does this flat object of
    /// strings several times faster than JSONDecoder.
    static func decodeMetadata(_ text: String) throws -> [String: String] {
        if text == "{}" { return [:] }
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw HoldStoreError.database("metadata is not a JSON object")
        }
        var metadata: [String: String] = [:]
        metadata.reserveCapacity(object.count)
        for (key, value) in object {
            guard let string = value as? String else { throw HoldStoreError.database("metadata value for \(key) is not a string") }
            metadata[key] = string
        }
        return metadata
    }
}
