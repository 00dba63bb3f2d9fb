import Foundation
import JSON
import Testing

@Suite struct JSONValueParsingTests {
    func parse(_ text: String) throws -> JSONValue {
        try JSONValue(jsonData: Data(text.utf8))
    }

    @Test func readsBackWhatJSONDataWrites() throws {
        let values: [JSONValue] = [
            ["amount": 125_000, "currency": "usd", "metadata": ["guest_tier": "VERIFIED_GUEST", "nights": 3], "customer_email": nil],
            ["quote": "say \"hi\"", "slash": "a\\b", "lines": "one\ntwo\r\tthree", "control": "\u{01}\u{1F}", "unicode": "café 😀 ñ"],
            [1, -1, 0, 1.5, -0.25, 1e300, true, false, nil, [], [:], [[["deep"]]]],
            .integer(.max), .integer(.min), "", .object([:]),
        ]
        for value in values {
            #expect(try JSONValue(jsonData: value.jsonData) == value, "\(String(decoding: value.jsonData, as: UTF8.self))")
        }
    }

    @Test func keepsWholeNumbersAsIntegersAndTheRestAsNumbers() throws {
        #expect(try parse("[0, -0, 42, 1.0, 2e3, -7.5E-1, 9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809]")
            == [0, 0, 42, .number(1.0), .number(2000), .number(-0.75), .integer(.max), .number(9_223_372_036_854_775_808),
                .integer(.min), .number(-9_223_372_036_854_775_809)])
    }

    @Test func agreesWithJSONDecoderOnEscapesAndWhitespace() throws {
        let text = " {\"a\" : [ \"\\u00e9\\ud83d\\ude00\\/\\b\\f\" , null ] ,\n\t\"b\":{\"c\":true}, \"a2\": \"\\\"\"} "
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(try parse(text) == expected)
        #expect(try parse(#""\ud83d x""#) == "\u{FFFD} x", "a lone surrogate becomes U+FFFD")
    }

    /// Parsers disagree on which copy of a repeated key wins (JSONDecoder kept the first,
    /// this parser once kept the last): "amount" must not mean two things.
    @Test func refusesARepeatedKey() throws {
        #expect(throws: JSONParseError(offset: 15, reason: "the field \"k\" appears twice in one object")) { try parse(#"{"k": 1, "k": 2}"#) }
        #expect(throws: JSONParseError.self) { try parse(#"{"a": {"k": 1, "k": 1}}"#) }
        #expect(try parse(#"[{"k": 1}, {"k": 2}]"#) == [["k": 1], ["k": 2]], "the same key in two objects is fine")
    }

    @Test func refusesWhatIsNotJSON() {
        let broken = [
            "", " ", "{", "[1,]", "{\"a\":1,}", "{a:1}", "'x'", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "[1 2]",
            "\"unterminated", "\"bad \\x escape\"", "\"tab\there\"", "\"\\u12\"", "{} {}", "NaN", "[\"a\" \"b\"]",
            String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        ]
        for text in broken {
            #expect(throws: JSONParseError.self, "\(text.prefix(40))") { try parse(text) }
        }
    }

    @Test func saysWhereTheTextWentWrong() {
        #expect(throws: JSONParseError(offset: 7, reason: "expected ',' or '}' in an object")) { try parse(#"{"a":1 "b":2}"#) }
    }
}
