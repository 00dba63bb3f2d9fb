import Foundation
import JSON
import PolicyEngine

/// What a backtest's changes are worth: money newly allowed or refused by `hold_limit`, money
/// newly scheduled for capture (or no longer) by `hold_schedule`, and the same counted per
/// property and per tier, so a property manager reads "$11,500 newly allowed, +$300 in
/// captures" rather than decision counts alone.
extension PolicyBacktest {
    /// Amounts in the smallest unit (cents), by currency.
    public typealias Money = [String: Int64]

    public struct Impact: Sendable, Equatable {
        public var newlyAllowed = 0
        public var newlyAllowedAmount: Money = [:]
        public var newlyRefused = 0
        public var newlyRefusedAmount: Money = [:]
        /// `hold_schedule`: captures the candidate adds (or raises) minus those it drops.
        public var captureAmountChange: Money = [:]
        public var changed = 0
        public var replayed = 0

        public init() {}

        mutating func add(_ replay: Replay) {
            replayed += 1
            if replay.kind.isChange { changed += 1 }
            let currency = replay.currency ?? "usd"
            switch replay.kind {
            case .newlyAllowed:
                newlyAllowed += 1
                newlyAllowedAmount[currency, default: 0] += replay.amount ?? 0
            case .newlyRefused:
                newlyRefused += 1
                newlyRefusedAmount[currency, default: 0] += replay.amount ?? 0
            default: break
            }
            if let change = replay.captureChange, change != 0 { captureAmountChange[currency, default: 0] += change }
        }

        public var json: JSONValue {
            [
                "replayed": .integer(Int64(replayed)), "changed": .integer(Int64(changed)),
                "newly_allowed": .integer(Int64(newlyAllowed)), "newly_allowed_amount": Self.json(newlyAllowedAmount),
                "newly_refused": .integer(Int64(newlyRefused)), "newly_refused_amount": Self.json(newlyRefusedAmount),
                "capture_amount_change": Self.json(captureAmountChange),
            ]
        }

        static func json(_ money: Money) -> JSONValue {
            .object(money.mapValues { .integer($0) })
        }
    }

    /// How a `hold_schedule` change moves money: the candidate's capture amount minus the
    /// stored one (a capture without an amount takes the whole hold; anything else is 0).
    public static func captureChange(input: JSONValue, stored: JSONValue, candidate: JSONValue) -> Int64 {
        func captured(_ decision: JSONValue) -> Int64 {
            guard decision["action"]?.stringValue == "capture" else { return 0 }
            return decision["amount"]?.integerValue ?? input["amount"]?.integerValue ?? 0
        }
        return captured(candidate) - captured(stored)
    }
}

/// Money and times as a property manager reads them.
public enum BacktestFormat {
    /// `$11,500.00`, or `1,234.56 EUR` for other currencies; whole cents, two decimals.
    public static func money(_ cents: Int64, currency: String = "usd") -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let units = (magnitude / 100).formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        let decimals = String(format: "%02d", Int(magnitude % 100))
        return currency.lowercased() == "usd" ? "\(sign)$\(units).\(decimals)" : "\(sign)\(units).\(decimals) \(currency.uppercased())"
    }

    /// Several currencies joined: `$11,500.00 + 120.00 EUR`; `$0.00` for none.
    public static func money(_ amounts: PolicyBacktest.Money, signed: Bool = false) -> String {
        let nonZero = amounts.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        guard !nonZero.isEmpty else { return "$0.00" }
        return nonZero.map { (signed && $0.value > 0 ? "+" : "") + money($0.value, currency: $0.key) }.joined(separator: " + ")
    }

    /// `2026-03-02 12:00 UTC` (seconds when they are not zero).
    public static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let base = String(format: "%04d-%02d-%02d %02d:%02d", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!)
        return (parts.second ?? 0) == 0 ? base + " UTC" : base + String(format: ":%02d UTC", parts.second!)
    }

    /// Unix seconds from a decision's `at`.
    public static func time(seconds: Int64) -> String {
        time(Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

/// What a candidate's `cors` hook would answer the browser origins that called the API
/// (one record per origin and day; replayed as `GET /api/holds`, since only the origin is
/// kept), against what they were answered then.
extension PolicyBacktest {
    public struct CORSPreview: Sendable, Equatable {
        public var origins = 0
        public var unchanged = 0
        public var newlyAllowed: [String] = []
        public var newlyRefused: [String] = []
        /// Origins the candidate's hook failed on (refused, fail-closed), with its error.
        public var candidateErrors: [String: String] = [:]
        /// The allow-list the candidate was handed, and from where.
        public var allowedOrigins: [String] = []

        public var json: JSONValue {
            [
                "origins": .integer(Int64(origins)), "unchanged": .integer(Int64(unchanged)),
                "newly_allowed": .array(newlyAllowed.map(JSONValue.string)),
                "newly_refused": .array(newlyRefused.map(JSONValue.string)),
                "candidate_errors": .object(candidateErrors.mapValues(JSONValue.string)),
                "allowed_origins": .array(allowedOrigins.map(JSONValue.string)),
            ]
        }
    }

    /// At most this many origins are replayed (the recorder keeps at most 1,000 new a day).
    static let previewedOrigins = 10_000

    func previewCORS() async throws -> CORSPreview? {
        guard let origins else { return nil }
        var preview = CORSPreview()
        preview.allowedOrigins = allowedOriginsOverride ?? candidate.sources.allowedOrigins
        for sighting in try await origins.originSightings(since: since, limit: Self.previewedOrigins) {
            preview.origins += 1
            let evaluation = candidate.cors(CORSHook.Input(
                origin: sighting.origin, method: "GET", path: "/api/holds", allowedOrigins: preview.allowedOrigins))
            if evaluation.source == .failClosed {
                preview.candidateErrors[sighting.origin] = evaluation.error?.message ?? "the candidate failed"
            }
            switch (sighting.allowed, evaluation.decision.allow) {
            case (false, true): preview.newlyAllowed.append(sighting.origin)
            case (true, false): preview.newlyRefused.append(sighting.origin)
            default: preview.unchanged += 1
            }
        }
        return preview
    }
}
