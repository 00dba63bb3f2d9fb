import ArgumentParser
import Foundation
import HoldStoreCopy
import HoldStorePostgres
import Logging

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Move a hold store between databases.",
        subcommands: [DatabaseCopyCommand.self])
}

struct DatabaseCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite hold store into PostgreSQL, then verify it table by table.",
        discussion: """
        Copies holds (with their scheduled actions), create and capture/cancel operations, webhook \
        events, policy decisions, the ChittyID outbox and stored policy revisions, then compares row \
        counts and a SHA-256 of every table on both sides; any difference fails the command.
        Stop `serve` on the SQLite file first (the copy takes its single-server lock, and refuses while \
        a server holds it) and start the PostgreSQL instances only after the copy. Both schemas are \
        migrated to this build's first.
        A target that already has rows is refused unless --allow-non-empty is given; with it, rows \
        already there are kept, so an interrupted copy is finished, and a repeated one changes nothing \
        and verifies again.
        Example: chittycharge db copy --from sqlite:///var/lib/chittycharge/holds.sqlite \
        --to 'postgres://chittycharge:secret@db.internal:5432/chittycharge?sslmode=require'
        """)

    @Option(help: "The SQLite store: sqlite:///absolute/path or sqlite://./relative/path.") var from: String
    @Option(help: "The PostgreSQL database: postgres://user:password@host:port/database?sslmode=disable|require|verify-full.") var to: String
    @Flag(help: "Copy into a database that already has rows (finishing or repeating a copy).") var allowNonEmpty = false

    func run() async throws {
        guard from.hasPrefix("sqlite://"), from.count > "sqlite://".count else {
            printError("--from must be sqlite:///path/to/file, got '\(from)'")
            throw ExitCode.validationFailure
        }
        let path = String(from.dropFirst("sqlite://".count))
        let settings: PostgresConnectionSettings
        do {
            settings = try PostgresConnectionSettings(url: to, poolSize: 1)
        } catch {
            printError("--to: \(error.description)")
            throw ExitCode.validationFailure
        }
        let quiet = Logger(label: "chittycharge.db-copy") { _ in SwiftLogNoOpLogHandler() }
        let started = ContinuousClock.now
        let reports: [HoldStoreCopy.TableReport]
        do {
            reports = try await HoldStoreCopy.copy(fromSQLite: path, to: settings, allowNonEmptyTarget: allowNonEmpty, logger: quiet)
        } catch let error as HoldStoreCopy.CopyError {
            if case .verificationFailed(let reports) = error { print(Self.table(reports)) }
            printError(error.description)
            throw ExitCode.failure
        } catch {
            printError("the copy failed: \(error)")
            throw ExitCode.failure
        }
        print(Self.table(reports))
        let total = reports.reduce(0) { $0 + $1.inserted }
        print("copied \(total) rows from \(path) to \(settings.redactedURL) in \(ContinuousClock.now - started); every table verified")
    }

    static func table(_ reports: [HoldStoreCopy.TableReport]) -> String {
        let header = ["table", "source rows", "target rows", "inserted", "checksum"]
        let rows = reports.map { [$0.table, String($0.sourceRows), String($0.targetRows), String($0.inserted), $0.checksumsMatch ? "equal" : "DIFFERENT"] }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
