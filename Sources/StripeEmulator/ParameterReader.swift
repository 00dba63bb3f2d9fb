import Foundation

/// Reads typed parameters out of a decoded form with Stripe's validation errors. Every
/// error thrown here is a validation failure: the request did not execute.
struct ParameterReader {
    let form: FormParameters

    /// Stripe checks names before values: an unknown name fails the request even if
    /// everything else is fine, which catches client typos early.
    func rejectUnknown(allowing allowed: Set<String>) throws(StripeEmulatorError) {
        for name in form.values.keys.sorted() where !allowed.contains(name) {
            throw .unknownParameter(name)
        }
    }

    /// Checks the nested names under `name` against a tree of allowed names (`nil` leaf =
    /// a scalar), reporting the first unknown one with its full bracketed name.
    func rejectUnknownNested(_ name: String, allowing allowed: [String: Set<String>]) throws(StripeEmulatorError) {
        guard let value = form[name] else { return }
        guard let outer = value.dictionaryValue else {
            throw .invalidParameter("Invalid object", param: name)
        }
        for (key, inner) in outer.sorted(by: { $0.key < $1.key }) {
            guard let allowedInner = allowed[key] else { throw .unknownParameter("\(name)[\(key)]") }
            guard let innerEntries = inner.dictionaryValue else {
                throw .invalidParameter("Invalid object", param: "\(name)[\(key)]")
            }
            for innerKey in innerEntries.keys.sorted() where !allowedInner.contains(innerKey) {
                throw .unknownParameter("\(name)[\(key)][\(innerKey)]")
            }
        }
    }

    func string(_ name: String) throws(StripeEmulatorError) -> String? {
        try string(form[name], param: name)
    }

    func string(_ value: FormValue?, param: String) throws(StripeEmulatorError) -> String? {
        guard let value else { return nil }
        guard let string = value.stringValue else {
            throw .invalidParameter("Invalid string: \(Self.describe(value))", param: param)
        }
        // An empty value means "unset" in Stripe's form convention.
        return string.isEmpty ? nil : string
    }

    func integer(_ name: String) throws(StripeEmulatorError) -> Int? {
        guard let string = try string(name) else { return nil }
        guard let integer = Int(string) else {
            throw .invalidParameter("Invalid integer: \(string)", param: name, code: "parameter_invalid_integer")
        }
        return integer
    }

    func boolean(_ name: String) throws(StripeEmulatorError) -> Bool? {
        guard let string = try string(name) else { return nil }
        switch string {
        case "true": return true
        case "false": return false
        default: throw .invalidParameter("Invalid boolean: \(string)", param: name)
        }
    }

    func oneOf(_ name: String, _ allowed: [String]) throws(StripeEmulatorError) -> String? {
        guard let string = try string(name) else { return nil }
        guard allowed.contains(string) else {
            throw .invalidParameter(
                "Invalid \(name): must be one of \(Self.list(allowed))", param: name)
        }
        return string
    }

    /// A list of strings (`expand[]=a`, `expand[0]=a`).
    func stringList(_ name: String) throws(StripeEmulatorError) -> [String]? {
        guard let value = form[name] else { return nil }
        // `expand=` (empty) clears the list.
        if value.stringValue == "" { return [] }
        guard let items = value.listValue else {
            throw .invalidParameter("Invalid array", param: name)
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let string = item.stringValue else {
                throw .invalidParameter("Invalid string: \(Self.describe(item))", param: "\(name)[\(index)]")
            }
            strings.append(string)
        }
        return strings
    }

    /// `metadata[k]=v` within Stripe's limits: 50 keys, keys ≤ 40 characters, values ≤ 500.
    /// An empty value removes the key; `metadata=` (empty) clears everything.
    func metadata(_ name: String = "metadata") throws(StripeEmulatorError) -> [String: String]? {
        guard let value = form[name] else { return nil }
        if value.stringValue == "" { return [:] }
        guard let entries = value.dictionaryValue else {
            throw .invalidParameter("Invalid object", param: name)
        }
        var metadata: [String: String] = [:]
        for (key, entry) in entries {
            guard let string = entry.stringValue else {
                throw .invalidParameter("Invalid string: \(Self.describe(entry))", param: "\(name)[\(key)]")
            }
            guard key.count <= 40 else {
                throw .invalidParameter(
                    "Metadata keys can have a maximum length of 40 characters; '\(key)' is \(key.count) characters.",
                    param: name)
            }
            guard string.count <= 500 else {
                throw .invalidParameter(
                    "Metadata values can have a maximum length of 500 characters; the value of '\(key)' is \(string.count) characters.",
                    param: name)
            }
            if !string.isEmpty { metadata[key] = string }
        }
        guard metadata.count <= 50 else {
            throw .invalidParameter(
                "Metadata can have a maximum of 50 keys; \(metadata.count) were given.", param: name)
        }
        return metadata
    }

    /// Which `expand[]` paths a route supports; others are Stripe's "cannot be expanded".
    func expansions(supported: Set<String>) throws(StripeEmulatorError) -> Set<String> {
        let requested = try stringList("expand") ?? []
        for path in requested where !supported.contains(path) {
            throw .invalidParameter("This property cannot be expanded (\(path)).", param: "expand")
        }
        return Set(requested)
    }

    static func list(_ values: [String]) -> String {
        guard values.count > 1, let last = values.last else { return values.joined() }
        return values.dropLast().joined(separator: ", ") + ", or " + last
    }

    static func describe(_ value: FormValue) -> String {
        switch value {
        case .string(let string): string
        case .dictionary: "a hash"
        case .list: "an array"
        }
    }
}
