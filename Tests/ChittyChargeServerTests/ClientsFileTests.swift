import ChittyCharge
import ChittyChargeServer
import Testing

/// Client names reach logs, metrics and policies and decide who owns a hold, so the
/// clients file accepts only plain lowercase ASCII names and refuses reserved ones.
@Suite("Clients file names")
struct ClientsFileTests {
    static let digest = sha256Hex("some-token")

    /// The error for a file whose line 2 is `line` (line 1 is a good client).
    static func refusal(_ line: String) -> String? {
        var authenticator = ClientAuthenticator()
        do {
            try authenticator.addClients(fileContents: "good:\(sha256Hex("good-token"))\n\(line)\n")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [
        "admin",             // what admin requests are logged as
        "anonymous",         // what unauthenticated requests are counted as
        "Alice",             // uppercase: another name than alice to us, the same to a reader
        "\u{0430}lice",      // Cyrillic а: looks like alice
        "alice\u{200B}",     // a zero-width space after alice
        "caf\u{00E9}",       // any non-ASCII letter
        "a.b",               // dots are not in the alphabet
        "-alice",            // must start with a letter or digit
        String(repeating: "a", count: 64),
    ])
    func refusesUnsafeOrReservedNames(_ name: String) {
        let error = Self.refusal("\(name):\(Self.digest)")
        #expect(error != nil, "'\(name)' was accepted")
        #expect(error?.contains("line 2") == true, "\(error ?? "")")
    }

    @Test func acceptsTheDocumentedAlphabet() throws {
        var authenticator = ClientAuthenticator()
        let longest = "z" + String(repeating: "9", count: 62)
        try authenticator.addClients(fileContents: """
            frontdesk-1:\(sha256Hex("t1"))
            kiosk_2:\(sha256Hex("t2"))
            0night:\(sha256Hex("t3"))
            \(longest):\(sha256Hex("t4"))
            """)
        #expect(authenticator.client(forToken: "t2") == "kiosk_2")
        #expect(authenticator.client(forToken: "t4") == longest)
    }

    @Test func explainsWhatIsWrong() {
        #expect(Self.refusal("admin:\(Self.digest)")?.contains("reserved") == true)
        #expect(Self.refusal("Alice:\(Self.digest)")?.contains("a-z") == true)
    }

    /// `default` is the shared `CHITTY_ID_TOKEN`'s client: a file may name it only when that
    /// token is not set (it then owns the shared token's holds).
    @Test func defaultIsTheSharedTokensName() throws {
        var withShared = ClientAuthenticator()
        withShared.addSharedToken("shared")
        #expect(throws: ClientAuthenticator.ConfigurationError.self) {
            try withShared.addClients(fileContents: "default:\(Self.digest)\n")
        }
        var fileOnly = ClientAuthenticator()
        try fileOnly.addClients(fileContents: "default:\(Self.digest)\n")
        #expect(fileOnly.client(forToken: "some-token") == "default")
    }

    /// Groups share holds both ways; a client in two groups reaches both, but the members
    /// of one group do not thereby reach the other's.
    @Test func groupsDecideWhoseHoldsAClientReaches() throws {
        var authenticator = ClientAuthenticator()
        authenticator.addSharedToken("shared")
        try authenticator.addClients(fileContents: """
            lobby1:\(sha256Hex("1")):group=east
            lobby2:\(sha256Hex("2")):group=west
            manager:\(sha256Hex("3")):group=east,west
            solo:\(sha256Hex("4"))
            """)
        #expect(authenticator.holdAccess(for: "lobby1") == .ownedBy(["lobby1", "manager"]))
        #expect(authenticator.holdAccess(for: "manager") == .ownedBy(["manager", "lobby1", "lobby2"]))
        #expect(authenticator.holdAccess(for: "solo") == .ownedBy(["solo"]))
        #expect(authenticator.holdAccess(for: "default") == .ownedBy(["default"]))
        #expect(authenticator.holdAccess(for: "admin") == .ownedBy([]))
    }

    @Test func groupFieldsAreChecked() {
        #expect(Self.refusal("bob:\(Self.digest):group=") != nil)
        #expect(Self.refusal("bob:\(Self.digest):group=Front") != nil)
        #expect(Self.refusal("bob:\(Self.digest):grp=front") != nil)
        #expect(Self.refusal("bob:\(Self.digest):group=front:group=back") != nil)
        #expect(Self.refusal("bob:\(Self.digest):group=front,,back") != nil)
        #expect(Self.refusal("bob:\(Self.digest):group=front") == nil)
        #expect(Self.refusal("bob:\(Self.digest):group=front,back") == nil)
        #expect(Self.refusal("bob:\(Self.digest)") == nil)
    }
}
