import Foundation
import JSON

/// The body of `POST /api/holds/{id}/booking-events`, checked field by field so a mistake
/// (an unknown type, a time without a zone, a misspelled field) is a clear 400 and nothing
/// is stored.
public struct BookingEventRequest: Sendable, Equatable {
    public var eventID: String
    public var kind: BookingEvent.Kind
    public var occurredAt: Date
    public var details: [String: JSONValue]

    static let fields: Set<String> = ["event_id", "type", "occurred_at", "details"]
    static let maxDetailsDepth = HoldRequest.maxMetadataDepth
    static let maxDetailsBytes = 16_384
    /// Times written outside the years 2000 to 2099 are a unit or typing mistake; a day on
    /// either side lets any offset through (2000-01-01T00:00:00+03:00 is still 1999 in UTC).
    static let earliest = Date(timeIntervalSince1970: 946_684_800 - 86_400)  // 1999-12-31
    static let latest = Date(timeIntervalSince1970: 4_102_444_800 + 86_400)  // 2100-01-02

    public init(eventID: String, kind: BookingEvent.Kind, occurredAt: Date, details: [String: JSONValue] = [:]) {
        self.eventID = eventID
        self.kind = kind
        self.occurredAt = occurredAt
        self.details = details
    }

    public static func parse(_ body: Data) throws(HoldServiceError) -> BookingEventRequest {
        guard !body.isEmpty else {
            throw .invalidInput("The request body is empty; send a JSON object with event_id, type and occurred_at")
        }
        let value: JSONValue
        do {
            value = try JSONValue(jsonData: body)
        } catch {
            throw .invalidInput("The request body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else { throw .invalidInput("The request body must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw .invalidInput("Unknown field '\(unknown.prefix(60))'; a booking event has event_id, type, occurred_at and details", field: unknown)
        }
        guard case .string(let eventID)? = object["event_id"] else {
            throw .invalidInput("event_id is required: the sender's id for this event (text), so a repeat is recognised", field: "event_id")
        }
        guard !eventID.isEmpty, eventID.count <= 255, eventID.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F }) else {
            throw .invalidInput("event_id must be 1 to 255 printable ASCII characters without spaces", field: "event_id")
        }
        let kinds = BookingEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let typeName)? = object["type"], let kind = BookingEvent.Kind(rawValue: typeName) else {
            throw .invalidInput("type must be one of \(kinds)", field: "type")
        }
        guard case .string(let occurredText)? = object["occurred_at"] else {
            throw .invalidInput("occurred_at is required: an ISO-8601 time such as 2026-07-10T15:00:00Z", field: "occurred_at")
        }
        guard let occurredAt = BookingTime.parseInstant(occurredText), (earliest..<latest).contains(occurredAt) else {
            throw .invalidInput("occurred_at must be an ISO-8601 date-time with Z or an offset, such as 2026-07-10T15:00:00Z or 2026-07-10T10:00:00-05:00", field: "occurred_at")
        }
        var details: [String: JSONValue] = [:]
        switch object["details"] {
        case nil, .null?: break
        case .object(let fields)?:
            guard HoldRequest.nestingDepth(.object(fields)) <= maxDetailsDepth else {
                throw .invalidInput("details nests more than \(maxDetailsDepth) levels deep", field: "details")
            }
            guard JSONCoding.encode(JSONValue.object(fields)).count <= maxDetailsBytes else {
                throw .invalidInput("details is larger than \(maxDetailsBytes) bytes", field: "details")
            }
            details = fields
        default:
            throw .invalidInput("details must be a JSON object", field: "details")
        }
        if kind == .stayExtended {
            guard case .string(let checkOut)? = details["check_out"], let date = BookingTime.parse(checkOut), (earliest..<latest).contains(date) else {
                throw .invalidInput("a stay_extended event needs details.check_out: the new check-out as an ISO-8601 date or date-time", field: "details.check_out")
            }
        }
        return BookingEventRequest(eventID: eventID, kind: kind, occurredAt: occurredAt, details: details)
    }
}
