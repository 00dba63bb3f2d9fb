import JSON

/// Writes values in the tagged byte stream that the C shim decodes into Lua tables inside
/// a protected call (format in CLuaShim.h). Typed hook inputs write themselves field by
/// field, so the hot path builds no intermediate dictionaries. Write exactly `count` values
/// after `beginArray` and `count` key/value pairs after `beginObject`.
struct LuaValueEncoder: ~Copyable {
    // A raw buffer rather than [UInt8]: Array's generic append(contentsOf:) was the largest
    // single cost of a whole evaluation.
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0

    init() {
        capacity = 4096
        storage = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit {
        storage.deallocate()
    }

    mutating func reset() {
        count = 0
    }

    /// The bytes written so far, valid only inside `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    @inline(never)
    private mutating func grow(_ extra: Int) {
        var grown = capacity * 2
        while grown < count + extra { grown *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        bigger.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = bigger
        capacity = grown
    }

    @inline(__always)
    private mutating func tag(_ character: Unicode.Scalar) {
        reserve(1)
        storage.storeBytes(of: UInt8(ascii: character), toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    private mutating func tagged<T: FixedWidthInteger>(_ character: Unicode.Scalar, _ value: T) {
        tag(character)
        raw(value)
    }

    @inline(__always)
    private mutating func raw<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        storage.storeBytes(of: value, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    mutating func null() { tag("z") }

    mutating func bool(_ value: Bool) { tag(value ? "t" : "f") }

    mutating func integer(_ value: Int64) { tagged("i", value) }

    mutating func number(_ value: Double) { tagged("d", value.bitPattern) }

    mutating func string(_ value: String) {
        tag("s")
        rawString(value)
    }

    mutating func beginArray(count: Int) { tagged("a", UInt32(truncatingIfNeeded: count)) }

    mutating func beginObject(count: Int) { tagged("o", UInt32(truncatingIfNeeded: count)) }

    /// An object key; the value follows with one of the value methods.
    mutating func key(_ name: String) {
        tag("s")
        rawString(name)
    }

    /// A well-known key, sent by its registered index.
    mutating func key(_ known: PolicyKey) { tagged("k", known.rawValue) }

    mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    mutating func value(_ value: JSONValue) {
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

    /// An object Lua decodes field by field on first access (see lazy.c): for hook inputs,
    /// whose fields a policy mostly does not read. `body` writes exactly `count` key/value
    /// pairs. More than 64 fields, or more than four lazy objects in one input, arrive as
    /// plain tables.
    mutating func lazyObject(count fieldCount: Int, _ body: (inout LuaValueEncoder) -> Void) {
        guard fieldCount <= 64 else {
            beginObject(count: fieldCount)
            return body(&self)
        }
        tagged("O", UInt32(truncatingIfNeeded: fieldCount))
        // The entries' byte length goes first so Lua can step over them in one move.
        let lengthOffset = count
        raw(UInt32(0))
        body(&self)
        storage.storeBytes(of: UInt32(truncatingIfNeeded: count - lengthOffset - 4), toByteOffset: lengthOffset, as: UInt32.self)
    }

    mutating func lazyObject(_ fields: [String: JSONValue]) {
        lazyObject(count: fields.count) { $0.entries(fields) }
    }

    mutating func object(_ fields: [String: JSONValue]) {
        beginObject(count: fields.count)
        entries(fields)
    }

    private mutating func entries(_ fields: [String: JSONValue]) {
        for (name, fieldValue) in fields {
            key(name)
            value(fieldValue)
        }
    }

    private mutating func rawString(_ value: String) {
        // Native strings expose their UTF-8 directly; only bridged or lazily-decoded ones
        // need the copying fallback.
        if let written: Void = value.utf8.withContiguousStorageIfAvailable({ rawBytes($0) }) {
            return written
        }
        var copy = value
        copy.withUTF8 { rawBytes($0) }
    }

    @inline(__always)
    private mutating func rawBytes(_ utf8: UnsafeBufferPointer<UInt8>) {
        raw(UInt32(truncatingIfNeeded: utf8.count))
        reserve(utf8.count)
        if let base = utf8.baseAddress {
            (storage + count).copyMemory(from: base, byteCount: utf8.count)
        }
        count += utf8.count
    }
}
