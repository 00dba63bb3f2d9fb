/// The field names of hook inputs. They are registered with every Lua state once and sent
/// by index, so Lua does not hash and intern the same names again on every call (that was
/// a third of the C side's cost of a hold_limit evaluation).
enum PolicyInputKey: UInt8, CaseIterable {
    case amount, currency, description, customerEmail, propertyID, tenantID, metadata, client
    case origin, method, path, config, allowedOrigins
    case route, ip
    case id, status, createdAt, captureBefore

    var name: String {
        switch self {
        case .customerEmail: "customer_email"
        case .propertyID: "property_id"
        case .tenantID: "tenant_id"
        case .allowedOrigins: "allowed_origins"
        case .createdAt: "created_at"
        case .captureBefore: "capture_before"
        default: "\(self)"
        }
    }
}
