import ChittyCharge
import HoldStoreColumns
import Foundation
import JSON
import NIOCore
import SQLiteNIO

// How Swift values are written to columns. Times are integer Unix milliseconds
// (`Date.unixMilliseconds`, HoldStoreColumns).

extension SQLiteData {
    init(_ string: String?) {
        self = string.map { .text($0) } ?? .null
    }

    init(_ integer: Int?) {
        self = integer.map { .integer($0) } ?? .null
    }

    init(_ date: Date?) {
        self = date.map { .integer($0.unixMilliseconds) } ?? .null
    }

    init(_ data: Data?) {
        self = data.map { .blob(ByteBuffer(bytes: $0)) } ?? .null
    }
}
