import Foundation
import StripeAPI
import Testing

@Suite("StripeFormEncoder")
struct StripeFormEncoderTests {
    @Test("scalars keep their order; integers plain, booleans true/false")
    func scalarsInOrder() {
        let encoded = StripeFormEncoder.encode([
            .init("amount", 5000), .init("currency", "usd"), .init("capture_method", "manual"),
            .init("confirm", true), .init("off_session", false), .init("amount_to_capture", -1),
        ])
        #expect(encoded == "amount=5000&currency=usd&capture_method=manual&confirm=true&off_session=false&amount_to_capture=-1")
    }

    @Test("metadata is bracketed and sorted by key, whatever the dictionary order")
    func metadataSorted() {
        let metadata: [String: StripeFormEncoder.Value] = ["tenant_id": "t1", "property_id": "p1", "a": "0"]
        let encoded = StripeFormEncoder.encode([.init("metadata", .dictionary(metadata))])
        #expect(encoded == "metadata[a]=0&metadata[property_id]=p1&metadata[tenant_id]=t1")
    }

    @Test("arrays are indexed from zero in order")
    func arraysIndexed() {
        let encoded = StripeFormEncoder.encode([.init("expand", .array(["latest_charge", "customer"]))])
        #expect(encoded == "expand[0]=latest_charge&expand[1]=customer")
    }

    @Test("nested dictionaries and a literal bracketed name encode the same way")
    func nestedMatchesLiteralPath() {
        let nested = StripeFormEncoder.encode([
            .init("payment_method_options", .dictionary(["card": .dictionary(["request_extended_authorization": "if_available"])]))
        ])
        let literal = StripeFormEncoder.encode([
            .init("payment_method_options[card][request_extended_authorization]", "if_available")
        ])
        #expect(nested == "payment_method_options[card][request_extended_authorization]=if_available")
        #expect(literal == nested)
    }

    @Test(
        "values are percent-encoded except unreserved characters",
        arguments: [
            ("a&b", "a%26b"), ("a=b", "a%3Db"), ("a+b", "a%2Bb"), ("a b", "a%20b"),
            ("line\nbreak", "line%0Abreak"), ("", ""), ("café", "caf%C3%A9"), ("💳", "%F0%9F%92%B3"),
            ("[x]", "%5Bx%5D"), ("-._~AZaz09", "-._~AZaz09"), ("a/b?c#d%e", "a%2Fb%3Fc%23d%25e"),
            ("guest@example.com", "guest%40example.com"),
        ])
    func valueEncoding(raw: String, expected: String) {
        #expect(StripeFormEncoder.encode([.init("description", .string(raw))]) == "description=\(expected)")
    }

    @Test("keys inside a dictionary are data: brackets and spaces in them are encoded")
    func dictionaryKeysEncoded() {
        let encoded = StripeFormEncoder.encode([.init("metadata", .dictionary(["a b[c]&=": "v"]))])
        #expect(encoded == "metadata[a%20b%5Bc%5D%26%3D]=v")
    }

    @Test("an empty value is still sent; empty containers send nothing")
    func emptyValues() {
        #expect(StripeFormEncoder.encode([.init("description", "")]) == "description=")
        #expect(StripeFormEncoder.encode([.init("metadata", .dictionary([:])), .init("expand", .array([]))]) == "")
        #expect(StripeFormEncoder.encode([]) == "")
    }

    @Test("decoding the output gives back every value unchanged")
    func roundTrip() {
        let values = ["a&b=c+d e", "日本語 テキスト", "tab\there", "100%", "\r\n", "emoji 🏨 stay", "'quote\""]
        let fields = values.enumerated().map { StripeFormEncoder.Field("metadata[k\($0.offset)]", .string($0.element)) }
        let decoded = formFields(StripeFormEncoder.encodeBody(fields))
        for (index, value) in values.enumerated() {
            #expect(decoded["metadata[k\(index)]"] == value)
        }
        #expect(decoded.count == values.count)
    }
}
