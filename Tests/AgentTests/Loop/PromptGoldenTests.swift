import Agent
import AgentCore
import Foundation
import Imaging
import Logging
import EmbeddedModel
import Models
import Qwen3VLPrompt
import TestSupport
import Testing
import TestSupportCore

/// What the model reads after four steps, rendered through the official chat templates and compared
/// with committed text (`Fixtures/Prompts/`), so any drift in the prompt shows in review.
/// `QWEN_AGENT_WRITE_GOLDEN=1` rewrites the files instead (then read the diff).
@Suite("The prompt after four steps, through the real chat templates")
struct PromptGoldenTests {
    static let folder = Repository.fixtures.appendingPathComponent("Prompts")
    static let templates = Repository.fixtures.appendingPathComponent("Qwen3VLChatTemplates")
    static let screen = Size(width: 1280, height: 800)

    static func thinking(_ arguments: String, _ action: String) -> String {
        "The screen shows the app; \(action.lowercased()) is the next step.\n</think>\n\nAction: \(action)\n<tool_call>\n"
            + "{\"name\": \"computer_use\", \"arguments\": \(arguments)}\n</tool_call>"
    }

    static func instruct(_ arguments: String, _ action: String) -> String {
        "Thought: \(action) moves the task on.\nAction: \(action)\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": \(arguments)}\n</tool_call>"
    }

    static let clicks = [(#"{"action": "left_click", "coordinate": [250, 500]}"#, "Click the avatar."),
                         (#"{"action": "type", "text": "ada"}"#, "Type the user name."),
                         (#"{"action": "left_click", "coordinate": [250, 500]}"#, "Click the avatar again."),
                         (#"{"action": "left_click", "coordinate": [700, 300]}"#, "Click Log out.")]

    /// Runs four steps and a fifth that ends the run; returns what the fifth step's model read.
    static func fifthConversation(_ name: String) async throws -> (messages: [ChatMessage], template: String) {
        let desktop = FakeDesktop(size: screen)
        let logger = Logger(label: "test")
        let done = #"{"action": "terminate", "status": "success"}"#
        if name == "auto" {
            // Thinking plans step 1; Instruct does 2 and 3; step 3 changed nothing, so Thinking does 4; Instruct ends.
            let thinkingModel = RecordingModel([thinking(clicks[0].0, clicks[0].1), thinking(clicks[3].0, clicks[3].1)])
            let instructModel = RecordingModel([instruct(clicks[1].0, clicks[1].1), instruct(clicks[2].0, clicks[2].1), instruct(done, "Finish.")])
            let router = try #require(try RouterProfile.load("auto"))
            let models = StepModels.routed(
                instruct: ModelSeat(profile: try Profile.load(router.router.instruct), model: instructModel),
                thinking: ModelSeat(profile: try Profile.load(router.router.thinking), model: thinkingModel), policy: router.router.policy)
            _ = await AgentLoop(screen: desktop, input: desktop, windows: desktop, models: models, options: AgentLoopTests.fast, logger: logger)
                .run(task: "log out of the app")
            #expect(thinkingModel.conversations.count == 2 && instructModel.conversations.count == 3)
            return (try #require(instructModel.conversations.last), "Qwen3-VL-2B-Instruct")
        }
        let isThinking = name == "desktop-thinking"
        func reply(_ arguments: String, _ action: String) -> String { isThinking ? thinking(arguments, action) : instruct(arguments, action) }
        let model = RecordingModel(clicks.map { reply($0.0, $0.1) } + [reply(done, "Finish.")])
        let seat = ModelSeat(profile: try Profile.load(name), model: model)
        _ = await AgentLoop(screen: desktop, input: desktop, windows: desktop, models: .one(seat), options: AgentLoopTests.fast, logger: logger)
            .run(task: "log out of the app")
        #expect(model.conversations.count == 5)
        return (try #require(model.conversations.last), name == "desktop-thinking" ? "Qwen3-VL-2B-Thinking" : "Qwen3-VL-2B-Instruct")
    }

    @Test(arguments: ["desktop-thinking", "desktop-instruct", "auto"])
    func theFifthStepReadsAsCommitted(profile name: String) async throws {
        let (messages, folder) = try await Self.fifthConversation(name)
        let template = try Qwen3VL.ChatTemplate.load(folder: Self.templates.appendingPathComponent(folder))
        let rendered = template.render(messages.map(\.templateMessage), addGenerationPrompt: true)
        let file = Self.folder.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["QWEN_AGENT_WRITE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
            try Data(rendered.utf8).write(to: file)
        }
        let committed = try String(contentsOf: file, encoding: .utf8)
        let firstDifference = zip(rendered.split(separator: "\n", omittingEmptySubsequences: false),
                                  committed.split(separator: "\n", omittingEmptySubsequences: false)).enumerated().first { $1.0 != $1.1 }
        #expect(rendered == committed, "\(file.lastPathComponent) differs at line \((firstDifference?.offset ?? -1) + 1): \(firstDifference.map { "\($0.element.0)" } ?? "(length)")")
        // Screen pixels never reach the model: the clicks landed at (320, 400) and (896, 240) on the 1280x800 screen.
        for pixels in ["320, 400", "896, 240", "1280x800"] { #expect(!rendered.contains(pixels), "\(pixels) in \(name)") }
        #expect(rendered.components(separatedBy: "<|vision_start|><|image_pad|><|vision_end|>").count == 5, "3 recent screenshots and the current one")
    }
}
