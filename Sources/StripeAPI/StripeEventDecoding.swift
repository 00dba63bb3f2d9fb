import ChittyCharge
import Foundation

/// Reads a webhook event body (after its signature is verified). Only `id`, `type`,
/// `created` and `data.object` are required; the object is read leniently, as
/// `PaymentIntentDecoding` reads API answers.
public enum StripeEventDecoding {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public static func event(from payload: Data) throws(Failure) -> StripeEvent {
        guard let root = (try? JSONSerialization.jsonObject(with: payload)) as? [String: Any] else {
            throw Failure(reason: "the body is not a JSON object")
        }
        guard let id = root["id"] as? String, !id.isEmpty else { throw Failure(reason: "the event has no id") }
        guard let type = root["type"] as? String, !type.isEmpty else { throw Failure(reason: "the event has no type") }
        guard let created = (root["created"] as? NSNumber)?.int64Value else { throw Failure(reason: "the event has no created time") }
        guard let data = root["data"] as? [String: Any], let object = data["object"] as? [String: Any] else {
            throw Failure(reason: "the event has no data.object")
        }
        var event = StripeEvent(id: id, type: type, created: Date(timeIntervalSince1970: TimeInterval(created)), payload: payload)
        switch object["object"] as? String {
        case "payment_intent":
            event.paymentIntentID = object["id"] as? String
            event.paymentIntent = try? PaymentIntentDecoding.paymentIntent(fromJSONObject: object)
        case "charge":
            event.paymentIntentID = (object["payment_intent"] as? String) ?? ((object["payment_intent"] as? [String: Any])?["id"] as? String)
            let card = ((object["payment_method_details"] as? [String: Any])?["card"] as? [String: Any])
            event.charge = ChargeSnapshot(
                amountCaptured: (object["amount_captured"] as? NSNumber)?.intValue,
                captured: object["captured"] as? Bool,
                captureBefore: ((card?["capture_before"] as? NSNumber)?.doubleValue).map(Date.init(timeIntervalSince1970:)))
        default:
            break
        }
        return event
    }
}
