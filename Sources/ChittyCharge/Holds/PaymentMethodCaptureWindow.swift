import Foundation

/// The payment methods a hold may be placed with, and how long Stripe keeps each one's
/// authorization (Stripe, "Place a hold on a payment method": card-not-present
/// transactions, 7 days customer-initiated; Visa merchant-initiated 4 days 18 hours, the
/// shortest brand, so used for every merchant-initiated card hold).
///
/// Only methods whose manual-capture window is known are accepted: a method without
/// manual capture would be charged at once, and one with another window would lapse (or
/// be flagged) at the wrong time. Stripe's `capture_before`, when it arrives, always
/// replaces these estimates.
public enum PaymentMethodCaptureWindow {
    public struct Window: Sendable, Equatable {
        /// The customer authorised it on our page (Stripe.js).
        public var customerInitiated: TimeInterval
        /// We confirmed a saved method ourselves (`off_session`).
        public var merchantInitiated: TimeInterval
    }

    public static let windows: [String: Window] = [
        "card": Window(customerInitiated: 7 * 86_400, merchantInitiated: 4 * 86_400 + 18 * 3_600),
    ]

    /// What `payment_method_types` is when the operator does not say.
    public static let defaultTypes = ["card"]

    /// The window for one method; nil for a method we cannot hold with.
    public static func window(for type: String, merchantInitiated: Bool) -> TimeInterval? {
        windows[type].map { merchantInitiated ? $0.merchantInitiated : $0.customerInitiated }
    }

    /// The deadline to assume until Stripe says: the shortest window among the intent's
    /// methods (the earliest it may lapse), the card's when none is known.
    public static func estimate(forTypes types: [String], merchantInitiated: Bool = false) -> TimeInterval {
        types.compactMap { window(for: $0, merchantInitiated: merchantInitiated) }.min()
            ?? (merchantInitiated ? windows["card"]!.merchantInitiated : windows["card"]!.customerInitiated)
    }

    public struct InvalidTypes: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Reads a comma-separated list (`STRIPE_PAYMENT_METHOD_TYPES`, `--payment-method-types`):
    /// trimmed, lowercased, no duplicates, at least one, each a method we can hold with.
    public static func parse(_ text: String) throws(InvalidTypes) -> [String] {
        var types: [String] = []
        for raw in text.split(separator: ",") {
            let type = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard !type.isEmpty else { continue }
            guard windows[type] != nil else {
                throw InvalidTypes(description: "payment method type '\(type)' cannot be used for holds: only \(windows.keys.sorted().joined(separator: ", ")) (methods with manual capture and a known capture window)")
            }
            if !types.contains(type) { types.append(type) }
        }
        guard !types.isEmpty else { throw InvalidTypes(description: "payment method types must name at least one method (e.g. 'card')") }
        return types
    }
}
