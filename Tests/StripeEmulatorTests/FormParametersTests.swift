import ChittyChargeTestSupport
import Foundation
import Testing

@testable import StripeEmulator

@Suite struct FormParametersTests {
    @Test func percentEncodingAndPlusAreDecodedInKeysAndValues() throws {
        let form = try FormParameters.decode(
            "description=Deposit+for+caf%C3%A9+%26+bar&metadata%5Bguest%20name%5D=Ana+Mar%C3%ADa&plus=1%2B1%3D2")
        #expect(form["description"] == .string("Deposit for café & bar"))
        #expect(form["metadata"] == .dictionary(["guest name": .string("Ana María")]))
        #expect(form["plus"] == .string("1+1=2"))
    }

    @Test func bracketsNestHashesAndLists() throws {
        let form = try FormParameters.decode(
            "metadata[a]=1&metadata[b]=2&payment_method_options[card][request_extended_authorization]=if_available"
                + "&expand[]=latest_charge&expand[]=customer&types[1]=b&types[0]=a")
        #expect(form["metadata"] == .dictionary(["a": .string("1"), "b": .string("2")]))
        #expect(form["payment_method_options"]?.dictionaryValue?["card"]?.dictionaryValue?["request_extended_authorization"]
            == .string("if_available"))
        #expect(form["expand"]?.listValue == [.string("latest_charge"), .string("customer")])
        // Indexed arrays come back in index order whatever order they were sent in.
        #expect(form["types"]?.listValue == [.string("a"), .string("b")])
        #expect(form.flattened()["expand[1]"] == "customer")
        #expect(form.flattened()["payment_method_options[card][request_extended_authorization]"] == "if_available")
    }

    @Test func emptyValuesMissingEqualsAndEmptyPairs() throws {
        let form = try FormParameters.decode("a=&&b&c=x=y&a=2")
        #expect(form["a"] == .string("2"))
        #expect(form["b"] == .string(""))
        #expect(form["c"] == .string("x=y"))
        #expect(try FormParameters.decode("").isEmpty)
    }

    @Test(arguments: ["a[b=1", "a]=1", "[a]=1", "a[b]c=1", "a[][b]=1", "%zz=1", "a=%4", "a=%FF", "a=1&a[b]=2", "a[b]=1&a=2"])
    func malformedInputIsRejected(_ encoded: String) {
        #expect(throws: FormDecodingError.self) { try FormParameters.decode(encoded) }
    }

    @Test func malformedBodyIsA400() async throws {
        let emulator = StripeEmulator(clock: ManualWallClock(emulatorTestStart))
        let response = await emulator.send("POST", "/v1/payment_intents", form: "amount=5000&currency=usd&metadata[x=1")
        #expect(response.status == 400)
        #expect(response.errorField("type") == "invalid_request_error")
    }
}
