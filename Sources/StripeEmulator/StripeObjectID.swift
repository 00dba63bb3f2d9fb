/// Stripe-style identifiers: a type prefix and random alphanumerics (`pi_3Nx…`).
enum StripeObjectID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    static func make(_ prefix: String, length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        var id = prefix
        id.reserveCapacity(prefix.count + length)
        for _ in 0..<length {
            id.append(alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))])
        }
        return id
    }
}
