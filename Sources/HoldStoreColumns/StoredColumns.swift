import ChittyCharge
import Foundation
import JSON

/// One row read from a store's database, by column name. Each store supplies the few typed
/// reads its driver knows; the records are decoded from them once, here (`StoredRecords`),
/// so the SQLite and PostgreSQL stores cannot drift apart on what a column means.
///
/// A missing column or a value of the wrong type throws `HoldStoreError.database` naming the
/// table, row and column: a damaged row must not take the server down.
public protocol StoredColumns {
    /// `table key`, for error messages.
    var context: String { get }
    func string(_ column: String) throws -> String
    func optionalString(_ column: String) throws -> String?
    func int(_ column: String) throws -> Int
    func optionalInt(_ column: String) throws -> Int?
    func optionalData(_ column: String) throws -> Data?
}

extension StoredColumns {
    public func data(_ column: String) throws -> Data {
        guard let data = try optionalData(column) else {
            throw HoldStoreError.database("\(context): column \(column) is null")
        }
        return data
    }

    /// Times are stored as integer Unix milliseconds.
    public func date(_ column: String) throws -> Date {
        Date(unixMilliseconds: try int(column))
    }

    public func optionalDate(_ column: String) throws -> Date? {
        try optionalInt(column).map(Date.init(unixMilliseconds:))
    }

    public func raw<T: RawRepresentable>(_ type: T.Type, _ column: String) throws -> T where T.RawValue == String {
        let text = try string(column)
        guard let value = T(rawValue: text) else {
            throw HoldStoreError.database("\(context): column \(column) has unknown value \"\(text)\"")
        }
        return value
    }

    public func json<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        let text = try string(column)
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not valid JSON for \(T.self): \(error)")
        }
    }

    public func metadata(_ column: String) throws -> [String: String] {
        let text = try string(column)
        do {
            return try MetadataColumn.decode(text)
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not a JSON object of strings: \(error)")
        }
    }

    /// The failure an operation's client was told (the `*_body` columns).
    public func optionalFailure(_ column: String) throws -> HoldServiceError? {
        try optionalData(column).map { try decoded(HoldServiceError.self, $0, column) }
    }

    /// The receipt of a capture or a cancel, as `kind` says which.
    public func optionalReceipt(_ column: String, kind: HoldOperationKind) throws -> HoldOperationReceipt? {
        guard let body = try optionalData(column) else { return nil }
        return switch kind {
        case .capture: .captured(try decoded(CaptureReceipt.self, body, column))
        case .cancel: .canceled(try decoded(CancelReceipt.self, body, column))
        }
    }

    fileprivate func decoded<T: Decodable>(_ type: T.Type, _ body: Data, _ column: String) throws -> T {
        do {
            return try JSONCoding.decode(type, from: body)
        } catch {
            throw HoldStoreError.database("\(context): column \(column) is not a stored \(T.self): \(error)")
        }
    }
}

/// How a hold's metadata is kept: a JSON object of strings, `{}` when empty.
public enum MetadataColumn {
    public static func encode(_ metadata: [String: String]) -> String {
        metadata.isEmpty ? "{}" : String(decoding: JSONCoding.encode(metadata), as: UTF8.self)
    }

    /// Every hold read decodes its metadata; JSONSerialization does this flat object of
    /// strings several times faster than JSONDecoder.
    public static func decode(_ text: String) throws -> [String: String] {
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

extension Date {
    /// Stores keep times to the millisecond; a finer fraction is rounded to the nearest.
    public var unixMilliseconds: Int {
        Int((timeIntervalSince1970 * 1000).rounded())
    }

    public init(unixMilliseconds: Int) {
        self.init(timeIntervalSince1970: Double(unixMilliseconds) / 1000)
    }
}

extension StoredColumns {
    /// A JSON object kept as text (typed metadata, booking details); nil for NULL.
    public func optionalJSONObject(_ column: String) throws -> [String: JSONValue]? {
        guard let text = try optionalString(column) else { return nil }
        guard let value = try? JSONValue(jsonData: Data(text.utf8)), case .object(let fields) = value else {
            throw HoldStoreError.database("\(context): column \(column) is not a JSON object")
        }
        return fields
    }

    public func optionalBookingOutcome(_ column: String) throws -> BookingEventOutcome? {
        guard let text = try optionalString(column) else { return nil }
        return try decoded(BookingEventOutcome.self, Data(text.utf8), column)
    }
}

/// How booking events' JSON columns are written (read back by `optionalJSONObject` and
/// `optionalBookingOutcome`).
public enum BookingEventColumns {
    public static func encodeDetails(_ details: [String: JSONValue]) -> String {
        String(decoding: JSONCoding.encode(JSONValue.object(details)), as: UTF8.self)
    }

    public static func encodeOutcome(_ outcome: BookingEventOutcome) -> String {
        String(decoding: JSONCoding.encode(outcome), as: UTF8.self)
    }

    /// Typed metadata as its column keeps it; nil (NULL) for none recorded.
    public static func encodeMetadata(_ metadata: [String: JSONValue]?) -> String? {
        metadata.map { String(decoding: JSONCoding.encode(JSONValue.object($0)), as: UTF8.self) }
    }
}
