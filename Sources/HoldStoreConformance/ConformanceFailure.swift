import ChittyCharge

/// A store behaved differently from what a check expects.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let message: String
    /// Where in the checks it was detected (`file:line`).
    public let location: String

    public init(_ message: String, location: String) {
        self.message = message
        self.location = location
    }

    public var description: String { "\(message) (\(location))" }
}

// The checks' assertions. Plain functions that throw, so the checks run under any test
// framework (or none).

func expect(_ condition: Bool, _ message: @autoclosure () -> String,
            fileID: String = #fileID, line: Int = #line) throws {
    guard condition else {
        throw ConformanceFailure(message(), location: "\(fileID):\(line)")
    }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String,
                               fileID: String = #fileID, line: Int = #line) throws {
    guard actual == expected else {
        throw ConformanceFailure("\(what()): expected \(expected), got \(actual)", location: "\(fileID):\(line)")
    }
}

func unwrap<T>(_ value: T?, _ what: @autoclosure () -> String,
               fileID: String = #fileID, line: Int = #line) throws -> T {
    guard let value else {
        throw ConformanceFailure("\(what()): expected a value, got nil", location: "\(fileID):\(line)")
    }
    return value
}

/// Expects `body` to throw a `HoldStoreError` that `matches` accepts.
func expectStoreError<T>(_ what: @autoclosure () -> String, matching matches: (HoldStoreError) -> Bool,
                         fileID: String = #fileID, line: Int = #line,
                         _ body: () async throws -> T) async throws {
    let location = "\(fileID):\(line)"
    do {
        let value = try await body()
        throw ConformanceFailure("\(what()): expected a HoldStoreError, got \(value)", location: location)
    } catch let error as HoldStoreError {
        guard matches(error) else {
            throw ConformanceFailure("\(what()): threw the wrong HoldStoreError: \(error)", location: location)
        }
    } catch let failure as ConformanceFailure {
        throw failure
    } catch {
        throw ConformanceFailure("\(what()): expected a HoldStoreError, got \(type(of: error)): \(error)", location: location)
    }
}

extension HoldStoreError {
    var isNotFound: Bool {
        if case .notFound = self { return true }
        return false
    }
}
