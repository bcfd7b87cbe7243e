import Qwen3VLPrompt

/// Turns a server's deltas back into the raw text a Qwen3-VL model writes, so one step parser reads
/// every backend, and tracks the thinking budget.
///
/// - Reasoning sent in its own field becomes the reasoning, `\n</think>\n\n`, then the answer, as
///   Qwen3's chat template writes it: servers differ in the whitespace they leave around the `</think>`
///   they took out (vLLM and SGLang keep it, llama.cpp and Ollama trim it), so it is written afresh.
/// - Tool calls that a server moved out of the text (`delta.tool_calls`, possibly in pieces by index)
///   become `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>` again, in order, after the text
///   that preceded them.
/// - A reply that never leaves the reasoning gets no `</think>`, and the parser reports it as unterminated.
struct ReplyAssembler {
    static let thinkClose = "</think>"
    /// Where the reasoning ends, as Qwen3's chat template writes it.
    static let reasoningEnd = "\n</think>\n\n"

    enum Mode: Equatable {
        /// A new reply: reasoning up to `</think>`, then the answer; at most `thinkingBudget` pieces of
        /// reasoning (roughly one token each), nil for no limit.
        case reply(thinkingBudget: Int?)
        /// The answer after a reasoning this client closed: all of it is answer text, whichever field it
        /// comes in. A reasoning of its own (a `</think>`, or the reasoning field then the answer) means
        /// the server started a new reply instead of continuing.
        case continuation
    }

    let mode: Mode
    /// Everything passed on so far.
    private(set) var text = ""
    private(set) var thinkingPieces = 0
    private(set) var thinkingOver: Bool
    /// In a continuation: the server wrote a reasoning of its own.
    private(set) var startedNewReply = false

    private var inReasoningField = false
    private var sawReasoningField = false
    /// Whitespace at the end of the reasoning so far, kept back until more reasoning follows: where
    /// the reasoning ends, `reasoningEnd` replaces it.
    private var heldWhitespace = ""
    /// Just after the reasoning field ended: the answer's leading whitespace is already in `reasoningEnd`.
    private var trimmingAnswerStart = false
    private var pendingCalls: [PendingCall] = []
    /// The end of the text so far, to find a `</think>` split across pieces.
    private var tail = ""

    private struct PendingCall {
        /// Pieces with the same index belong to one call; a call without one (a whole reply's) stands alone.
        let index: Int?
        var name = ""
        var arguments = ""
    }

    init(_ mode: Mode) {
        self.mode = mode
        thinkingOver = mode == .continuation
    }

    /// Whether the reasoning used up its budget without reaching `</think>`.
    var budgetSpent: Bool {
        guard case .reply(let budget?) = mode, !thinkingOver else { return false }
        return thinkingPieces >= budget
    }

    /// The text to pass on for one delta (or one whole reply).
    mutating func add(_ message: ChatCompletionReply.Message) -> String {
        var out = ""
        if let reasoning = message.thinking, !reasoning.isEmpty { out += addReasoning(reasoning) }
        if let content = message.content, !content.isEmpty { out += addAnswer(content) }
        for call in message.toolCalls ?? [] { collect(call) }
        return record(out, countsAsThinking: true)
    }

    /// What is still held when the reply ends: tool calls not yet written, trailing whitespace.
    mutating func finish() -> String {
        var out = flushCalls()
        if !thinkingOver && !inReasoningField { out = heldWhitespace + out }
        heldWhitespace = ""
        return record(out, countsAsThinking: false)
    }

    private mutating func addReasoning(_ piece: String) -> String {
        var out = flushCalls()
        guard case .reply = mode else {
            sawReasoningField = true
            return out + piece
        }
        inReasoningField = true
        out += holdingTrailingWhitespace(piece)
        return out
    }

    private mutating func addAnswer(_ piece: String) -> String {
        var out = flushCalls()
        var piece = Substring(piece)
        if mode == .continuation, sawReasoningField { startedNewReply = true }
        out += closeReasoningField()
        if trimmingAnswerStart {
            piece = piece.drop { $0.isWhitespace }
            if piece.isEmpty { return out }
            trimmingAnswerStart = false
        }
        // Reasoning written in the text (no reasoning parser) passes through as it is, whitespace kept back the same way.
        out += thinkingOver ? heldWhitespace + piece : holdingTrailingWhitespace(String(piece))
        if thinkingOver { heldWhitespace = "" }
        return out
    }

    /// `reasoningEnd` where the reasoning field gives way to the answer (or to a tool call).
    private mutating func closeReasoningField() -> String {
        guard inReasoningField else { return "" }
        inReasoningField = false
        heldWhitespace = ""
        trimmingAnswerStart = true
        return Self.reasoningEnd
    }

    private mutating func holdingTrailingWhitespace(_ piece: String) -> String {
        let combined = heldWhitespace + piece
        guard let last = combined.lastIndex(where: { !$0.isWhitespace }) else {
            heldWhitespace = combined
            return ""
        }
        let end = combined.index(after: last)
        heldWhitespace = String(combined[end...])
        return String(combined[..<end])
    }

    private mutating func collect(_ call: ChatCompletionReply.ToolCall) {
        if call.index == nil || pendingCalls.last?.index != call.index { pendingCalls.append(PendingCall(index: call.index)) }
        pendingCalls[pendingCalls.count - 1].name += call.function?.name ?? ""
        switch call.function?.arguments {
        case .text(let piece)?: pendingCalls[pendingCalls.count - 1].arguments += piece
        case .object(let json)?: pendingCalls[pendingCalls.count - 1].arguments = json
        case nil: break
        }
    }

    /// The collected tool calls as the model wrote them, on lines of their own.
    private mutating func flushCalls() -> String {
        guard !pendingCalls.isEmpty else { return "" }
        defer { pendingCalls = [] }
        if mode == .continuation, sawReasoningField { startedNewReply = true }
        var out = closeReasoningField()
        trimmingAnswerStart = false
        heldWhitespace = ""
        // What the text so far ends with (not `text + out`: a copy of the whole reply at every flush).
        let end = out.isEmpty ? text : out
        if !end.isEmpty && !end.hasSuffix("\n") { out += "\n" }
        return out + pendingCalls.map { call in
            // Normalised to the spacing of the chat template's `tojson`, which is how the model writes it.
            let arguments = Qwen3VL.OrderedJSON(parsing: call.arguments)?.json ?? (call.arguments.isEmpty ? "{}" : call.arguments)
            return "<tool_call>\n{\"name\": \(Qwen3VL.OrderedJSON.string(call.name).json), \"arguments\": \(arguments)}\n</tool_call>"
        }.joined(separator: "\n")
    }

    private mutating func record(_ out: String, countsAsThinking: Bool) -> String {
        guard !out.isEmpty else { return "" }
        text += out
        let watching = mode == .continuation ? !startedNewReply : !thinkingOver
        if watching {
            let window = tail + out
            if window.contains(Self.thinkClose) {
                if mode == .continuation { startedNewReply = true } else { thinkingOver = true }
            } else if countsAsThinking && mode != .continuation {
                thinkingPieces += 1
            }
            tail = String(window.suffix(Self.thinkClose.count - 1))
        }
        return out
    }
}
