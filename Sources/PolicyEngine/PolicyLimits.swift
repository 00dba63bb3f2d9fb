/// The sandbox's resource limits (POLICY.md "Sandbox").
public struct PolicyLimits: Sendable, Equatable {
    /// VM instructions one hook call (or loading the policy) may run.
    public var instructionBudget: Int64
    /// Bytes one Lua state may allocate.
    public var memoryLimit: Int

    public init(instructionBudget: Int64 = 1_000_000, memoryLimit: Int = 16 << 20) {
        self.instructionBudget = instructionBudget
        self.memoryLimit = memoryLimit
    }

    public static let `default` = PolicyLimits()
}
