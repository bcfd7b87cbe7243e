import Foundation

/// How the model's output is shaped.
public enum OutputShape: String, Sendable, CaseIterable, Codable {
    /// Qwen3-VL Thinking: the prompt ends with `<think>\n`, so the output starts inside the reasoning
    /// and must contain `</think>`; without it the reasoning was truncated or never ended.
    case thinking
    /// Instruct: no reasoning block; the whole output is the answer.
    case instruct
}

/// Turns raw model text into a ``Plan``, or a ``ParseFailure`` that says why not.
///
/// Order of precedence, on the answer (the text after `</think>`): `<tool_call>` blocks; then a
/// grounding answer (`bbox_2d`/`point_2d`); then pyautogui / UI-TARS call lines; then prose steps
/// (numbered steps or a final answer with a verb and a coordinate), first in the answer and then in
/// the reasoning. Tool calls that appear only inside the reasoning are never executed.
///
/// The parser works on UTF-8 bytes, looks at each byte a bounded number of times, and nests JSON at
/// most 64 deep: its time grows linearly with the input.
public enum StepParser {
    public static func parse(_ text: String, shape: OutputShape = .thinking) throws(ParseFailure) -> Plan {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { !$0.isSpace }) else {
            throw ParseFailure(.emptyOutput, "the model returned no text", excerpt: "")
        }
        var reasoningRange = 0..<0
        var answerRange = 0..<bytes.count
        if shape == .thinking {
            guard let close = bytes.lastRange(of: Tags.thinkClose) else {
                let toolNote = bytes.firstRange(of: Tags.toolCallOpen, in: 0..<bytes.count) != nil
                    ? "; a <tool_call> inside the unfinished reasoning was not executed" : ""
                throw ParseFailure(.unterminatedThinking,
                                   "the reasoning never reached </think> (truncated or runaway thinking)\(toolNote)",
                                   excerpt: String(decoding: bytes.suffix(300), as: UTF8.self), span: 0..<bytes.count)
            }
            var start = 0
            if let open = bytes.firstRange(of: Tags.thinkOpen, in: 0..<close.lowerBound),
               bytes[0..<open.lowerBound].allSatisfy(\.isSpace)
            { start = open.upperBound }
            reasoningRange = start..<close.lowerBound
            answerRange = close.upperBound..<bytes.count
        }
        let source = Source(bytes: bytes, reasoning: reasoningRange, answer: answerRange)

        if let calls = try ToolCalls.actions(in: source) {
            return source.plan(.toolCalls, calls, explanation: ProseSteps.explanation(in: source))
        }
        if let grounded = try Grounding.actions(in: source) {
            return source.plan(.grounding, grounded, explanation: [])
        }
        if let compat = try CompatibilityCalls.actions(in: source) {
            return source.plan(.compatibility, compat, explanation: [])
        }
        if let steps = try ProseSteps.actions(in: source) {
            return source.plan(.reasoningSteps, steps, explanation: ProseSteps.explanation(in: source))
        }
        var reason = "no tool call, grounding box, pyautogui line or step with a verb and a coordinate was found"
        if bytes.firstRange(of: Tags.toolCallOpen, in: reasoningRange) != nil {
            reason += "; a <tool_call> appears only inside the reasoning, and those are not executed"
        }
        if let hint = ProseSteps.stepWithoutCoordinate(in: source) {
            reason += "; a step names an action but no coordinate: \"\(hint)\""
        }
        let answer = source.text(answerRange)
        throw ParseFailure(.noAction, reason, excerpt: answer.isEmpty ? source.text(reasoningRange) : answer, span: answerRange)
    }
}

/// The model output as bytes, with its two sections.
struct Source {
    let bytes: [UInt8]
    let reasoning: Range<Int>
    let answer: Range<Int>

    func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// The text in `range` without leading and trailing ASCII whitespace (trimmed as bytes: cheap on long reasoning).
    func text(_ range: Range<Int>) -> String {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, bytes[lower].isSpace { lower += 1 }
        while upper > lower, bytes[upper - 1].isSpace { upper -= 1 }
        return string(lower..<upper)
    }

    func plan(_ kind: Plan.Source, _ actions: [PlannedAction], explanation: [String]) -> Plan {
        Plan(reasoning: text(reasoning), answer: text(answer), source: kind, actions: actions,
             explanation: explanation)
    }

    func planned(_ action: Action, _ range: Range<Int>, label: String? = nil) -> PlannedAction {
        PlannedAction(action: action, span: range, sourceText: text(range), label: label)
    }
}

enum Tags {
    static let thinkOpen = Array("<think>".utf8)
    static let thinkClose = Array("</think>".utf8)
    static let toolCallOpen = Array("<tool_call>".utf8)
    static let toolCallClose = Array("</tool_call>".utf8)
    /// End-of-turn markers a decoder may leave in the text.
    static let endMarkers = ["<|im_end|>", "<|endoftext|>"].map { Array($0.utf8) }
}

// MARK: - Tool calls

enum ToolCalls {
    /// The actions of every `<tool_call>` block in the answer; nil when there is none.
    static func actions(in source: Source) throws(ParseFailure) -> [PlannedAction]? {
        let bytes = source.bytes
        var blocks: [Range<Int>] = []
        var cursor = source.answer.lowerBound
        while let open = bytes.firstRange(of: Tags.toolCallOpen, in: cursor..<source.answer.upperBound) {
            // A block ends at </tool_call>, at the next <tool_call> (an unterminated one), or at the end.
            let next = bytes.firstRange(of: Tags.toolCallOpen, in: open.upperBound..<source.answer.upperBound)
            let limit = next?.lowerBound ?? source.answer.upperBound
            let close = bytes.firstRange(of: Tags.toolCallClose, in: open.upperBound..<limit)
            blocks.append(open.upperBound..<(close?.lowerBound ?? limit))
            cursor = close?.upperBound ?? limit
        }
        guard !blocks.isEmpty else { return nil }
        return try blocks.map { block throws(ParseFailure) in try action(in: block, of: source) }
    }

    private static func action(in block: Range<Int>, of source: Source) throws(ParseFailure) -> PlannedAction {
        var end = block.upperBound
        for marker in Tags.endMarkers {
            if let found = source.bytes.firstRange(of: marker, in: block) { end = min(end, found.lowerBound) }
        }
        let text = source.string(block.lowerBound..<end)
        let json: JSONValue
        do {
            json = try LenientJSON.parse(text).value
        } catch {
            throw ParseFailure(.malformedToolCall, "the tool call's JSON cannot be read: \(error.reason)", excerpt: text.trimmed, span: block)
        }
        guard case .object(let call) = json else {
            throw ParseFailure(.malformedToolCall, "a tool call must be a JSON object with name and arguments", excerpt: text.trimmed, span: block)
        }
        var arguments: [String: JSONValue] = [:]
        switch call["arguments"] ?? call["parameters"] ?? call["args"] {
        case .object(let object)?: arguments = object
        case .string(let string)?:
            guard case .object(let object)? = try? LenientJSON.parse(string).value else {
                throw ParseFailure(.malformedToolCall, "the tool call's arguments string is not a JSON object", excerpt: text.trimmed, span: block)
            }
            arguments = object
        case nil: arguments = call
        default:
            throw ParseFailure(.malformedToolCall, "the tool call's arguments must be a JSON object", excerpt: text.trimmed, span: block)
        }
        let functionName: String? = if case .string(let name)? = call["name"] { name } else { nil }
        var actionSpelling = functionName
        if functionName == nil || functionName == "computer_use" || functionName == "mobile_use" {
            guard case .string(let spelled)? = arguments["action"] else {
                throw ParseFailure(.malformedToolCall, "the tool call names no action (arguments.action is missing)",
                                   excerpt: text.trimmed, span: block)
            }
            actionSpelling = spelled
        }
        guard let spelling = actionSpelling, let name = ActionTable.name(for: spelling) else {
            throw ParseFailure(.unknownAction,
                               "unknown action '\(actionSpelling ?? "")'; known: \(ActionName.allCases.map(\.rawValue).joined(separator: ", "))",
                               excerpt: text.trimmed, span: block)
        }
        do {
            let action = try Action(name: name, arguments: arguments)
            return source.planned(action, block)
        } catch {
            throw ParseFailure(.invalidArguments, error.message, excerpt: text.trimmed, span: block)
        }
    }
}

// MARK: - Grounding answers

enum Grounding {
    /// `[{"bbox_2d": [...], "label": "..."}]` or `point_2d` items (often in a ```json fence): a click on each centre.
    static func actions(in source: Source) throws(ParseFailure) -> [PlannedAction]? {
        let bytes = source.bytes
        guard let key = bytes.firstRange(of: Array("bbox_2d".utf8), in: source.answer)
                ?? bytes.firstRange(of: Array("point_2d".utf8), in: source.answer)
        else { return nil }
        guard let start = jsonStart(before: key.lowerBound, in: source) else { return nil }
        guard let (json, length) = try? LenientJSON.parse(source.string(start..<source.answer.upperBound)) else { return nil }
        let items: [JSONValue] = if case .array(let array) = json { array } else { [json] }
        let range = start..<(start + length)
        var actions: [PlannedAction] = []
        for item in items {
            guard let box = item["bbox_2d"] ?? item["point_2d"] else { continue }
            let label: String? = if case .string(let text)? = item["label"] { text } else { nil }
            do {
                let point = try Action.point(from: box, what: "grounding box")
                actions.append(source.planned(Action(.leftClick, point: point), range, label: label))
            } catch {
                throw ParseFailure(.invalidArguments, error.message, excerpt: source.string(range), span: range)
            }
        }
        return actions.isEmpty ? nil : actions
    }

    /// Where the grounding JSON starts: the '[' of a list of objects before the key, else the '{' before it.
    private static func jsonStart(before key: Int, in source: Source) -> Int? {
        let bytes = source.bytes
        var objectStart: Int?
        var i = key - 1
        while i >= source.answer.lowerBound {
            if bytes[i] == UInt8(ascii: "{") && objectStart == nil { objectStart = i }
            if bytes[i] == UInt8(ascii: "["), let object = objectStart, bytes[(i + 1)..<object].allSatisfy(\.isSpace) { return i }
            i -= 1
        }
        return objectStart
    }
}

extension UInt8 {
    var isSpace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}

extension [UInt8] {
    /// The first occurrence of `needle` inside `range`.
    func firstRange(of needle: [UInt8], in range: Range<Int>) -> Range<Int>? {
        guard let first = needle.first, range.count >= needle.count else { return nil }
        var i = range.lowerBound
        let last = range.upperBound - needle.count
        while i <= last {
            if self[i] == first {
                var j = 1
                while j < needle.count && self[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i..<(i + needle.count) }
            }
            i += 1
        }
        return nil
    }

    /// The last occurrence of `needle`.
    func lastRange(of needle: [UInt8]) -> Range<Int>? {
        guard count >= needle.count else { return nil }
        var i = count - needle.count
        while i >= 0 {
            if self[i] == needle[0] && Array(self[i..<(i + needle.count)]) == needle { return i..<(i + needle.count) }
            i -= 1
        }
        return nil
    }
}

extension StringProtocol {
    /// The text without whitespace at either end, cut out in one piece (rebuilding it a character at a
    /// time from reversed views was an eighth of the parser's time on long replies).
    var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
