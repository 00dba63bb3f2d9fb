/// Field names of hook inputs and results. They are registered with every Lua state once
/// and sent by index: Lua does not hash and intern the same names again on every call, and
/// a result's fields are read by name without walking the whole table.
enum PolicyKey: UInt8, CaseIterable {
    // inputs
    case amount, currency, description, customerEmail, propertyID, tenantID, metadata, client
    case origin, method, path, config, allowedOrigins
    case route, ip
    case id, status, createdAt, captureBefore
    // results
    case allow, maxAmount, tier, reason, details
    case limit, window, key
    case action, at

    var name: String {
        switch self {
        case .customerEmail: "customer_email"
        case .propertyID: "property_id"
        case .tenantID: "tenant_id"
        case .allowedOrigins: "allowed_origins"
        case .createdAt: "created_at"
        case .captureBefore: "capture_before"
        case .maxAmount: "max_amount"
        default: "\(self)"
        }
    }
}
