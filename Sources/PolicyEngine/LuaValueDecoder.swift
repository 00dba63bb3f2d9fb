import JSON

/// Reads the tagged byte stream the C shim writes from a hook's result (format in CLuaShim.h).
/// The C side produced it from a Lua value it validated, so a malformed stream is a bug.
struct LuaValueDecoder {
    struct Malformed: Error {}

    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Decodes the whole stream as one value.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> JSONValue {
        var decoder = LuaValueDecoder(bytes)
        let value = try decoder.value()
        guard decoder.offset == bytes.count else { throw Malformed() }
        return value
    }

    /// Reads a hook's result: the requested fields of a table ('r'); anything else is not a
    /// table, decoded to say what it was.
    static func decodeResult(_ bytes: UnsafeRawBufferPointer, requested keys: [UInt8]) throws(Malformed) -> Result<PolicyResultFields, PolicyResultProblem> {
        guard !bytes.isEmpty, bytes[0] == UInt8(ascii: "r") else {
            return .failure(PolicyResultFields.notATable(try decode(bytes)))
        }
        var decoder = LuaValueDecoder(bytes)
        decoder.offset = 1
        let count = Int(try decoder.fixed(UInt32.self))
        guard count == keys.count else { throw Malformed() }
        var values: [JSONValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try decoder.value()) }
        guard decoder.offset == bytes.count else { throw Malformed() }
        return .success(PolicyResultFields(requested: keys, values: values))
    }

    private mutating func rawKey() throws(Malformed) -> UnsafeRawBufferPointer {
        guard try tag() == UInt8(ascii: "s") else { throw Malformed() }
        let length = Int(try fixed(UInt32.self))
        guard bytes.count - offset >= length else { throw Malformed() }
        defer { offset += length }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
    }

    private mutating func tag() throws(Malformed) -> UInt8 {
        guard offset < bytes.count else { throw Malformed() }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(Malformed) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw Malformed() }
        defer { offset += size }
        return bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    private mutating func rawString() throws(Malformed) -> String {
        let length = Int(try fixed(UInt32.self))
        guard bytes.count - offset >= length else { throw Malformed() }
        defer { offset += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
    }

    private mutating func value() throws(Malformed) -> JSONValue {
        switch try tag() {
        case UInt8(ascii: "z"): return .null
        case UInt8(ascii: "t"): return .bool(true)
        case UInt8(ascii: "f"): return .bool(false)
        case UInt8(ascii: "i"): return .integer(try fixed(Int64.self))
        case UInt8(ascii: "d"): return .number(Double(bitPattern: try fixed(UInt64.self)))
        case UInt8(ascii: "s"): return .string(try rawString())
        case UInt8(ascii: "a"):
            let count = Int(try fixed(UInt32.self))
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try value()) }
            return .array(elements)
        case UInt8(ascii: "o"):
            let count = Int(try fixed(UInt32.self))
            var fields: [String: JSONValue] = [:]
            fields.reserveCapacity(count)
            for _ in 0..<count {
                let key = String(decoding: try rawKey(), as: UTF8.self)
                fields[key] = try value()
            }
            return .object(fields)
        default:
            throw Malformed()
        }
    }
}
