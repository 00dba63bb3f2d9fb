import ChittyCharge
import Foundation
import JSON

/// How a hold looks on the wire: the earlier service's fields first (`chitty_id` always
/// present, null while pending), then ours.
enum HoldJSON {
    static func object(_ hold: Hold, flags: [String], includeClientSecret: Bool = false) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(hold.id),
            "object": "hold",
            "owner": .string(hold.owner),
            "chitty_id": hold.chittyID.map(JSONValue.string) ?? .null,
            "chitty_id_status": .string(hold.chittyIDStatus.rawValue),
            "status": .string(hold.status.rawValue),
            "amount": .integer(Int64(hold.amount)),
            "amount_capturable": .integer(Int64(hold.amountCapturable)),
            "amount_received": .integer(Int64(hold.amountReceived)),
            "currency": .string(hold.currency),
            "created_at": timestamp(hold.createdAt),
            "updated_at": timestamp(hold.updatedAt),
            "description": .string(hold.description),
            "customer_email": hold.customerEmail.map(JSONValue.string) ?? .null,
            "property_id": hold.propertyID.map(JSONValue.string) ?? .null,
            "tenant_id": hold.tenantID.map(JSONValue.string) ?? .null,
            "metadata": .object(hold.metadata.mapValues(JSONValue.string)),
            "tier": .string(hold.tier),
            "tier_limit": .integer(Int64(hold.tierLimit)),
            "policy_revision": .string(hold.policyRevision),
            "capture_before": timestamp(hold.captureBefore),
            "captured_at": timestamp(hold.capturedAt),
            "canceled_at": timestamp(hold.canceledAt),
            "scheduled_action": hold.scheduledAction.map(scheduledAction) ?? .null,
            "flags": .array(flags.map(JSONValue.string)),
            "replaces": hold.replaces.map(JSONValue.string) ?? .null,
            "replaced_by": hold.replacedBy.map(JSONValue.string) ?? .null,
        ]
        if includeClientSecret {
            object["client_secret"] = hold.clientSecret.map(JSONValue.string) ?? .null
        }
        return .object(object)
    }

    static func scheduledAction(_ action: ScheduledAction) -> JSONValue {
        [
            "action": .string(action.kind.rawValue), "at": timestamp(action.at),
            "amount": action.amount.map { .integer(Int64($0)) } ?? .null,
            "revision": .string(action.revision), "state": .string(action.state.rawValue),
        ]
    }

    static func timestamp(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(date.formatted(Date.ISO8601FormatStyle()))
    }

    static func body(_ value: JSONValue) -> Data {
        JSONCoding.encode(value)
    }
}
