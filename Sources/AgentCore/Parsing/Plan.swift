/// What a model output asks for: the ordered actions, where each came from, and the reasoning.
public struct Plan: Sendable {
    /// Which kind of text the actions were read from.
    public enum Source: String, Sendable, Codable {
        /// `<tool_call>` blocks (Qwen's function-calling format); they win over everything else.
        case toolCalls = "tool_calls"
        /// Numbered steps or a final answer in prose, each with a verb and a coordinate.
        case reasoningSteps = "reasoning_steps"
        /// A grounding answer (`bbox_2d` / `point_2d` items): each item becomes a click on its centre.
        case grounding
        /// `pyautogui.click(x, y)` or UI-TARS `click(start_box='(x,y)')` lines.
        case compatibility
    }

    /// The text before `</think>` (empty for an Instruct-shaped output).
    public let reasoning: String
    /// The text after `</think>` (all of it for an Instruct-shaped output).
    public let answer: String
    public let source: Source
    public let actions: [PlannedAction]
    /// Numbered steps found in the output, kept as the plan's explanation.
    public let explanation: [String]
}

/// One action of a plan and the text it came from.
public struct PlannedAction: Sendable {
    public let action: Action
    /// UTF-8 byte offsets of the source text in the whole model output.
    public let span: Range<Int>
    /// The source text itself.
    public let sourceText: String
    /// A grounding label or step text, when there is one.
    public let label: String?
}

/// Why a model output could not become a plan. Never an empty success, never "terminate".
public struct ParseFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case emptyOutput = "empty_output"
        /// A Thinking output without `</think>`: truncated or runaway reasoning.
        case unterminatedThinking = "unterminated_thinking"
        /// A `<tool_call>` whose JSON cannot be read, or that lacks a name or arguments.
        case malformedToolCall = "malformed_tool_call"
        /// An action name the action table does not have.
        case unknownAction = "unknown_action"
        /// An action whose arguments do not fit the table (missing, wrong type, out of range).
        case invalidArguments = "invalid_arguments"
        /// Nothing actionable: no tool call, no step with a verb and a coordinate, no grounding.
        case noAction = "no_action"
    }

    public let kind: Kind
    /// One line that says what is wrong.
    public let reason: String
    /// The offending text (shortened to 300 characters).
    public let excerpt: String
    /// UTF-8 offsets of the offending text, when it is one place.
    public let span: Range<Int>?

    init(_ kind: Kind, _ reason: String, excerpt: some StringProtocol, span: Range<Int>? = nil) {
        self.kind = kind
        self.reason = reason
        let scalars = excerpt.unicodeScalars
        self.excerpt = excerpt.utf8.count > 600
            ? String(String.UnicodeScalarView(scalars.prefix(150))) + " … " + String(String.UnicodeScalarView(scalars.suffix(150)))
            : String(excerpt)
        self.span = span
    }

    public var description: String { "\(kind.rawValue): \(reason)" }
}
