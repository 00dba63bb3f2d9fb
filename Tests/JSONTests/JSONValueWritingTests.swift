import Foundation
import JSON
import Testing

@Suite("JSONValue written as JSON")
struct JSONValueWritingTests {
    @Test(arguments: [
        JSONValue.object(["b": 1, "a": [true, .null, 2.5, "x"], "c": ["nested": "\"quoted\" \\ back\nline\t\u{01}é😀"]]),
        JSONValue.array([]), JSONValue.object([:]), JSONValue.integer(Int64.min), JSONValue.string(""),
    ])
    func roundTripsThroughFoundationsDecoder(_ value: JSONValue) throws {
        let data = value.jsonData
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    @Test func keysAreSortedAndOutputIsCompact() {
        let value: JSONValue = ["z": 1, "a": ["y": 2, "b": 3], "m": .number(.infinity)]
        #expect(String(decoding: value.jsonData, as: UTF8.self) == #"{"a":{"b":3,"y":2},"m":null,"z":1}"#)
        #expect(String(decoding: JSONValue.string("\u{1F}").jsonData, as: UTF8.self) == #""\u001f""#)
    }
}
