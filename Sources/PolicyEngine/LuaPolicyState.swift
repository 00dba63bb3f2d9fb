import CLuaShim
import Foundation

/// One sandboxed Lua state with a policy set loaded into it.
///
/// A lua_State is not thread-safe: a `LuaPolicyState` is used by one caller at a time,
/// which `PolicyRevision`'s pool guarantees (a state is either idle in the pool or lent to
/// exactly one evaluation). That is why it may be `@unchecked Sendable`.
final class LuaPolicyState: @unchecked Sendable {
    /// Where each defined hook lives (`policy.lua:12`) and its registry reference.
    struct HookFunction: Sendable, Equatable {
        let reference: Int32
        let location: String
    }

    enum CallOutcome {
        case result(PolicyResultFields)
        case notATable(PolicyResultProblem)
        case failure(PolicyEvaluationError.Kind, String)
    }

    private let state: OpaquePointer
    private let memoryLimit: Int
    private(set) var hooks = PerHook<HookFunction>()
    /// Reused for every call's input, so the hot path does not allocate a buffer.
    var encoder = LuaValueEncoder()
    /// Set after a failure that may leave the state in a poor condition (exhausted budget,
    /// memory at the cap): the pool closes it instead of lending it again.
    private(set) var isSpent = false
    /// Evaluations by PolicyMetrics slot, not yet added to the shared counters.
    private var pendingCounts = Array(repeating: 0, count: PolicyMetrics.slotCount)
    private var pendingTotal = 0
    /// Sampled evaluation durations not yet recorded, and evaluations until the next sample.
    private var pendingDurations: [PolicyMetrics.DurationSample] = []
    /// Touched on every evaluation: no dynamic exclusivity check (the pool lends a state to
    /// one caller at a time, as above).
    @exclusivity(unchecked) private var evaluationsUntilTimed = 0
    /// When the sampled evaluation in progress started (0: none is being timed), and its hook.
    @exclusivity(unchecked) private var timedSince: UInt64 = 0
    private var timedHookIndex = 0

    /// Creates a state and runs the entry module; throws the policy's own error message.
    /// With `recordingLines` (tools only: coverage, explain) it records every line it runs,
    /// from the load on; see `takeRecordedLines`.
    init(sources: PolicySourceSet, limits: PolicyLimits, recordingLines: Bool = false) throws(PolicyLoadError) {
        guard let state = ccl_new(limits.memoryLimit, limits.instructionBudget, limits.timeLimitNanoseconds, limits.allocationBudget) else {
            throw PolicyLoadError("cannot create a Lua state within the memory limit of \(limits.memoryLimit) bytes")
        }
        self.state = state
        self.memoryLimit = limits.memoryLimit
        if recordingLines { ccl_set_line_recording(state, 1) }
        guard Self.registerInputKeys(state) == 0 else { throw PolicyLoadError("out of memory while creating a Lua state") }
        for file in sources.loadedFiles {
            let contents = file.kind == .settings ? Array(PolicySettings.luaSource(sources.settings).utf8) : file.contents
            let added = contents.withUnsafeBufferPointer { bytes in
                ccl_add_module(state, file.moduleName, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, bytes.count)
            }
            guard added == 0 else { throw PolicyLoadError("\(file.path): out of memory while loading") }
        }
        let status = ccl_load_entry(state, PolicySourceSet.entryModule)
        guard status == CCL_OK else {
            throw PolicyLoadError(Self.loadFailure(status, message: message))
        }
        for hook in PolicyHook.allCases {
            var reference: Int32 = 0
            switch ccl_find_hook(state, hook.name, &reference) {
            case 1: hooks[hook] = HookFunction(reference: reference, location: message)
            case 0: continue
            default: throw PolicyLoadError("\(PolicySourceSet.entryModule).lua: \(message)")
            }
        }
    }

    deinit {
        ccl_close(state)
    }

    private static func registerInputKeys(_ state: OpaquePointer) -> Int32 {
        let names = PolicyKey.allCases.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        return names.map { UnsafePointer($0) }.withUnsafeBufferPointer { pointers in
            ccl_set_keys(state, pointers.baseAddress, Int32(pointers.count))
        }
    }

    private static func loadFailure(_ status: ccl_status, message: String) -> String {
        switch status {
        case CCL_ERR_BUDGET, CCL_ERR_TIME, CCL_ERR_ALLOCATION: "\(message) while loading the policy"
        case CCL_ERR_MEMORY: "\(PolicySourceSet.entryModule).lua: \(message) while loading the policy"
        default: message
        }
    }

    /// The message of the last failure (or a hook's location after lookup).
    private var message: String {
        var length = 0
        guard let text = ccl_message(state, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    /// What the policy printed during the last call.
    var printed: String {
        var length = 0
        guard let text = ccl_printed(state, &length), length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    var memoryUsed: Int { ccl_memory_used(state) }

    /// A line of a policy file the state ran, and how many times in a row.
    struct RecordedLine: Equatable {
        /// The file's path in the folder ("tiers.lua").
        let file: String
        let line: Int
        let count: Int
    }

    /// The lines run since the last take (only on a state created with `recordingLines`),
    /// in order; `truncated` when the record lost some. Chunks that are not policy files
    /// (text given to `load`) are left out.
    func takeRecordedLines() -> (lines: [RecordedLine], truncated: Bool) {
        var count = 0
        var truncated: Int32 = 0
        guard let events = ccl_recorded_lines(state, &count, &truncated) else { return ([], truncated != 0) }
        var files: [Int32: String?] = [:]
        var lines: [RecordedLine] = []
        lines.reserveCapacity(count)
        for event in UnsafeBufferPointer(start: events, count: count) {
            let file = files[event.source] ?? {
                // "@lib/dates.lua" names a policy file (see policy_require); others are not files.
                let name = ccl_recorded_source(state, event.source).map { String(cString: $0) }
                let path = name.flatMap { $0.hasPrefix("@") ? String($0.dropFirst()) : nil }
                files[event.source] = .some(path)
                return path
            }()
            guard let file else { continue }
            lines.append(RecordedLine(file: file, line: Int(event.line), count: Int(event.count)))
        }
        ccl_clear_recorded_lines(state)
        return (lines, truncated != 0)
    }

    /// Counts an evaluation here and adds the batch to `metrics` every 128 evaluations.
    func count(_ hook: PolicyHook, _ source: PolicyDecisionSource, into metrics: PolicyMetrics) {
        pendingCounts[PolicyMetrics.slot(hook, source)] += 1
        pendingTotal += 1
        if pendingTotal >= 128 { flushCounts(to: metrics) }
    }

    /// Adds the counts and sampled durations kept here to `metrics`.
    func flushCounts(to metrics: PolicyMetrics) {
        if !pendingDurations.isEmpty { metrics.record(&pendingDurations) }
        guard pendingTotal > 0 else { return }
        metrics.add(&pendingCounts)
        pendingTotal = 0
    }

    /// Starts timing an evaluation when it is this state's turn to sample one (see
    /// `PolicyMetrics.durationSampleInterval`). The start is kept here rather than returned,
    /// so the caller holds nothing extra across the evaluation.
    @inline(__always)
    func startTiming(_ hook: PolicyHook) {
        guard evaluationsUntilTimed == 0 else {
            evaluationsUntilTimed -= 1
            return
        }
        beginSample(hook)
    }

    /// Out of line, so the rare sampled path (a clock read) adds nothing to the code of
    /// every evaluation.
    @inline(never)
    private func beginSample(_ hook: PolicyHook) {
        evaluationsUntilTimed = PolicyMetrics.durationSampleInterval - 1
        timedHookIndex = hook.index
        timedSince = Self.monotonicNanoseconds()
    }

    /// True while a sampled evaluation is being timed.
    var isTiming: Bool { timedSince != 0 }

    /// Ends the evaluation `startTiming` began (call only when `isTiming`, so the common
    /// path touches nothing more); durations are recorded in batches.
    func finishTiming(into metrics: PolicyMetrics) {
        let elapsed = Self.monotonicNanoseconds() &- timedSince
        timedSince = 0
        pendingDurations.append(.init(hookIndex: timedHookIndex, nanoseconds: Int64(truncatingIfNeeded: elapsed)))
        // Bounded even for a state whose evaluations all fail (failures are not batched).
        if pendingDurations.count >= 16 { metrics.record(&pendingDurations) }
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Calls `function` with the input already written to `encoder`.
    /// Calls `function` with the input already written to `encoder`; `resultFields` are the
    /// PolicyKey raw values of the result fields to read.
    func call(_ function: HookFunction, resultFields: [UInt8]) -> CallOutcome {
        let status = encoder.withBytes { input in
            resultFields.withUnsafeBufferPointer { fields in
                ccl_call(
                    state, function.reference, input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                    fields.baseAddress, Int32(fields.count)
                )
            }
        }
        switch status {
        case CCL_OK:
            var length = 0
            let output = ccl_output(state, &length)
            // A state holding on to more than half its cap (module-level tables that keep
            // growing) would soon fail every call; replace it while it still works.
            if memoryUsed > memoryLimit / 2 { isSpent = true }
            do {
                switch try LuaValueDecoder.decodeResult(UnsafeRawBufferPointer(start: output, count: length), requested: resultFields) {
                case .success(let fields): return .result(fields)
                case .failure(let problem): return .notATable(problem)
                }
            } catch {
                isSpent = true
                return .failure(.invalidResult, "internal error: unreadable result stream")
            }
        case CCL_ERR_BUDGET:
            isSpent = true
            return .failure(.instructionBudget, message)
        case CCL_ERR_TIME:
            isSpent = true
            return .failure(.timeLimit, message)
        case CCL_ERR_ALLOCATION:
            isSpent = true
            return .failure(.allocationBudget, message)
        case CCL_ERR_MEMORY:
            isSpent = true
            return .failure(.memory, message)
        case CCL_ERR_RESULT:
            return .failure(.invalidResult, message)
        case CCL_ERR_RUNTIME:
            return .failure(.runtime, message)
        default:
            isSpent = true
            return .failure(.runtime, "internal error: \(message)")
        }
    }
}
