import AgentCore
import Foundation
public import Imaging
public import Models

/// One finished step, as the model is reminded of it. Everything here is in the model's own world:
/// its words and its coordinate space, never screen pixels.
public struct StepMemory: Sendable {
    /// The screenshot exactly as the model saw it; nil once the step is older than any conversation
    /// sends with its screenshot, so a long run does not keep every frame.
    public internal(set) var screenshot: RGBImage?
    /// The model's reply without its reasoning: the `Action:` line and the tool call.
    public let reply: String
    /// What the step meant to do, for the "Previous actions" list: the reply's `Action:` sentence, or
    /// else its actions as the model wrote them.
    public let intent: String
    /// What happened, said once in the next turn ("left_click (512, 384): the screen changed near the target.").
    public let result: String

    public init(screenshot: RGBImage, reply: String, intent: String, result: String) {
        self.screenshot = screenshot
        self.reply = reply
        self.intent = intent
        self.result = result
    }

    /// A usable step's memory, from its plan.
    init(screenshot: RGBImage, plan: Plan, result: String) {
        let reply = plan.answer.trimmingCharacters(in: .whitespacesAndNewlines)
        let sentence = reply.split(separator: "\n").lazy
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("Action:") }
            .map { $0.dropFirst("Action:".count).trimmingCharacters(in: CharacterSet(charactersIn: " \"“”")) }
        self.init(screenshot: screenshot, reply: reply,
                  intent: sentence.flatMap { $0.isEmpty ? nil : $0 } ?? plan.actions.map(\.action.description).joined(separator: "; "),
                  result: result)
    }
}

/// The conversation a step sends, shaped the way Qwen's official computer-use agents send it
/// (qwen3vl-spec.md §6.1b): the system message with the tool block; then the last `recentSteps`
/// steps as (screenshot, reply) pairs, the first pair's user turn carrying the instruction and the
/// "Previous actions" list of the steps before the window; then the current screenshot. What the
/// last step did, and any problem with the last reply, is said once, in the turn after it.
public struct Conversation: Sendable {
    public let systemMessage: String
    /// Steps sent as (screenshot, reply) pairs.
    public let recentSteps: Int
    /// At most this many older steps are listed by their intent.
    public let previousActions: Int

    public init(systemMessage: String, recentSteps: Int, previousActions: Int) {
        self.systemMessage = systemMessage
        self.recentSteps = max(0, recentSteps)
        self.previousActions = max(0, previousActions)
    }

    /// - Parameters:
    ///   - history: every finished step, oldest first (step 1 is `history[0]`).
    ///   - note: what the next turn must say besides the screenshot: why the last reply could not be
    ///     used, or what the user did about it.
    public func messages(task: String, history: [StepMemory], screenshot: RGBImage, note: String? = nil) -> [ChatMessage] {
        let window = history.suffix(recentSteps)
        let listed = history.prefix(history.count - window.count).enumerated().suffix(previousActions)
        let previous = listed.isEmpty ? "None" : listed.map { "Step \($0.offset + 1): \($0.element.intent)" }.joined(separator: "\n")
        let instruction = """
            Please generate the next move according to the UI screenshot, instruction and previous actions.

            Instruction: \(task)

            Previous actions:
            \(previous)
            """
        var messages: [ChatMessage] = [.system(systemMessage)]
        var text: String? = instruction
        for step in window {
            messages.append(ChatMessage(role: .user, content: (step.screenshot.map { [.image($0)] } ?? []) + (text.map { [.text($0)] } ?? [])))
            messages.append(.assistant(step.reply))
            text = step.result
        }
        let last = [text, note].compactMap { $0 }.joined(separator: "\n\n")
        messages.append(ChatMessage(role: .user, content: [.image(screenshot)] + (last.isEmpty ? [] : [.text(last)])))
        return messages
    }
}

/// What the model is told after a step or a reply, worded for its output shape and coordinate space.
enum Feedback {
    /// After a reply that could not be used.
    static func unusableReply(_ reason: String, shape: OutputShape, space: CoordinateMapping.CoordinateSpace) -> String {
        let closing = shape == .thinking ? "Think, close the reasoning with </think>, then give" : "Give"
        return "Your previous reply could not be used (\(reason)). \(closing) an `Action:` line and exactly one <tool_call>, "
            + "with coordinates \(coordinatesPhrase(space))."
    }

    /// After a reply that claims the task is over in words, without the tool call that says so.
    static var completionInProse: String {
        "the reply says the task is finished but calls no tool; to finish, call computer_use with action terminate "
            + "(status success or failure) or answer"
    }

    /// What a performed step did, in the model's coordinate space.
    static func stepResult(_ step: Int, actions: [Action], verification: Verification, repeated: Bool) -> String {
        let what = actions.map(\.description).joined(separator: "; ")
        var line = "Step \(step) (\(what)): \(verification.forModel)."
        if verification == .unchanged {
            line += repeated ? " The same action did nothing the time before as well: do something different."
                : " The action may have missed its target."
        }
        return line
    }

    /// After an action that was not sent because the screen changed while the model thought.
    static func screenChanged(_ action: Action, _ reason: StaleScreen) -> String {
        "The screen changed before \(action.description) was performed: \(reason.forModel). Nothing was done; "
            + "look at the new screenshot again."
    }

    static func skipped(_ action: Action) -> String {
        "The user declined \(action.description); choose another way or call terminate with status failure."
    }

    static func coordinatesPhrase(_ space: CoordinateMapping.CoordinateSpace) -> String {
        switch space {
        case .relative1000: "on the 0–1000 grid of the screenshot"
        case .resizedPixels(let size): "in pixels of the \(size.width)x\(size.height) screenshot"
        case .imagePixels: "in pixels of the screenshot"
        }
    }
}

extension Verification {
    /// The verification as the model reads it: no pixel counts.
    var forModel: String {
        switch self {
        case .changedNearTarget: "the screen changed near the target"
        case .changedElsewhere: "the screen changed, but not near the target"
        case .changed: "the screen changed"
        case .unchanged: "nothing on the screen changed"
        }
    }
}
