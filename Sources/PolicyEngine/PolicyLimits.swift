/// The sandbox's resource limits (POLICY.md "Sandbox").
public struct PolicyLimits: Sendable, Equatable {
    /// VM instructions one hook call (or loading the policy) may run.
    public var instructionBudget: Int64
    /// Bytes one Lua state may allocate. No single string or table part may take more than
    /// a sixteenth of it (1 MB at the default), which bounds what one library call can do.
    public var memoryLimit: Int
    /// How long one hook call may run, whatever it does (Lua code, library functions,
    /// pattern matching); loading a policy may take ten times as long. Past this much
    /// wall-clock time a call stops once it has also run on a CPU for a quarter of it since,
    /// so a thread kept waiting by a busy machine does not fail an ordinary call.
    public var timeLimit: Duration
    /// Bytes one hook call may allocate in all (strings and tables it builds, even ones it
    /// drops at once), so a call cannot spend its time copying strings.
    public var allocationBudget: Int

    public init(
        instructionBudget: Int64 = 1_000_000, memoryLimit: Int = 16 << 20, timeLimit: Duration = .milliseconds(50),
        allocationBudget: Int = 64 << 20
    ) {
        self.instructionBudget = instructionBudget
        self.memoryLimit = memoryLimit
        self.timeLimit = timeLimit
        self.allocationBudget = allocationBudget
    }

    public static let `default` = PolicyLimits()

    /// The largest single allocation (a string, a table's array or hash part).
    public var objectLimit: Int { memoryLimit / 16 }

    var timeLimitNanoseconds: UInt64 {
        let (seconds, attoseconds) = timeLimit.components
        let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        return nanoseconds >= 1 ? UInt64(min(nanoseconds, 1e18)) : 1
    }
}
