import JSON

/// What `policy eval --explain` shows: the decision, then the policy lines the hook ran in
/// order, so a property manager sees which rule decided.
public struct PolicyExplanation: Sendable {
    /// One line run, with its text; `count` runs in a row are shown once.
    public struct Step: Sendable, Equatable {
        public let file: String
        public let line: Int
        public let count: Int
        /// The line as written, without its indentation.
        public let text: String
    }

    public let evaluation: AnyPolicyEvaluation
    public let steps: [Step]
    /// True when the hook ran so many lines that the record lost some.
    public let truncated: Bool
}

extension PolicyRevision {
    /// Evaluates the hook on a state of its own that records the lines it runs. The lines
    /// run while the policy loaded are left out: they are the same for every call.
    public func explain(_ hook: PolicyHook, input: JSONValue) throws(PolicyLoadError) -> PolicyExplanation {
        let state = try makeRecordingState()
        _ = state.takeRecordedLines()
        let evaluation = evaluate(hook, input: input, on: state)
        let (recorded, truncated) = state.takeRecordedLines()
        let texts = sourceLines()
        let steps = recorded.map { line in
            let text = texts[line.file].flatMap { line.line >= 1 && line.line <= $0.count ? $0[line.line - 1] : nil } ?? ""
            return PolicyExplanation.Step(file: line.file, line: line.line, count: line.count, text: text)
        }
        return PolicyExplanation(evaluation: evaluation, steps: steps, truncated: truncated)
    }

    /// Each policy file's lines, trimmed of surrounding whitespace.
    func sourceLines() -> [String: [String]] {
        var texts: [String: [String]] = [:]
        for file in sources.files {
            texts[file.path] = String(decoding: file.contents, as: UTF8.self)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        return texts
    }
}
