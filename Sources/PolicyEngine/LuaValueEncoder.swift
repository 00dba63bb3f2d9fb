/// Writes values in the tagged byte stream that the C shim decodes into Lua tables inside
/// a protected call (format in CLuaShim.h). Typed hook inputs write themselves field by
/// field, so the hot path builds no intermediate dictionaries. Write exactly `count` values
/// after `beginArray` and `count` key/value pairs after `beginObject`.
public struct LuaValueEncoder: Sendable {
    public private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func null() { bytes.append(UInt8(ascii: "z")) }

    public mutating func bool(_ value: Bool) { bytes.append(UInt8(ascii: value ? "t" : "f")) }

    public mutating func integer(_ value: Int64) {
        bytes.append(UInt8(ascii: "i"))
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    public mutating func number(_ value: Double) {
        bytes.append(UInt8(ascii: "d"))
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "s"))
        rawString(value)
    }

    public mutating func beginArray(count: Int) {
        bytes.append(UInt8(ascii: "a"))
        length(count)
    }

    public mutating func beginObject(count: Int) {
        bytes.append(UInt8(ascii: "o"))
        length(count)
    }

    /// An object key; the value follows with one of the value methods.
    public mutating func key(_ name: String) { rawString(name) }

    public mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func value(_ value: PolicyValue) {
        switch value {
        case .null: null()
        case .bool(let v): bool(v)
        case .integer(let v): integer(v)
        case .number(let v): number(v)
        case .string(let v): string(v)
        case .array(let elements):
            beginArray(count: elements.count)
            for element in elements { self.value(element) }
        case .object(let fields):
            object(fields)
        }
    }

    public mutating func object(_ fields: [String: PolicyValue]) {
        beginObject(count: fields.count)
        for (name, fieldValue) in fields {
            key(name)
            value(fieldValue)
        }
    }

    private mutating func length(_ count: Int) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: count)) { bytes.append(contentsOf: $0) }
    }

    private mutating func rawString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            length(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }
}
