/// One numbered step of the schema. Applied once, in order, inside the transaction that
/// records it in `schema_migrations`; never edited after it ships (add a new one instead).
struct SchemaMigration: Sendable {
    let version: Int
    let name: String
    /// One statement each: SQLite prepares only the first statement of a string.
    let statements: [String]
}
