import Foundation
import StripeAPI

/// Thrown when the emulator is set unreachable: the in-process equivalent of a refused
/// connection, where no response arrived and the client cannot know what happened.
public struct StripeEmulatorUnreachableError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String {
        "Connection refused: the Stripe emulator is set unreachable (setUnreachable(true))"
    }
}

/// Sends requests straight into a `StripeEmulator` in the same process: the client's
/// whole encoding, retry and decoding path runs, without sockets.
public struct StripeEmulatorTransport: StripeTransport {
    public let emulator: StripeEmulator

    public init(emulator: StripeEmulator) {
        self.emulator = emulator
    }

    public func send(_ request: StripeHTTPRequest) async throws -> StripeHTTPResponse {
        guard let response = await emulator.receive(request) else {
            throw StripeEmulatorUnreachableError()
        }
        return response
    }
}
