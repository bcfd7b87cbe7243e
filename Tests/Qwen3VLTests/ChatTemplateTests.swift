import Foundation
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// The official templates' rendered examples (`Fixtures/Qwen3VLChatTemplates`), byte for byte.
@Suite("Qwen3-VL chat templates")
struct ChatTemplateTests {
    static let folder = Repository.fixtures.appendingPathComponent("Qwen3VLChatTemplates")

    static let cases: [(model: String, name: String)] = ["Qwen3-VL-2B-Instruct", "Qwen3-VL-2B-Thinking", "Qwen3-VL-4B-Instruct"].flatMap { model in
        ["01_image_text_no_generation_prompt", "02_image_text_with_generation_prompt", "03_system_tools_assistant_tool_call",
         "04_history_with_reasoning_content", "05_current_turn_reasoning_and_tool_call"].map { (model, $0) }
    }

    @Test(arguments: cases)
    func rendersTheOfficialExamplesByteForByte(model: String, name: String) throws {
        let directory = Self.folder.appendingPathComponent(model)
        let template = try Qwen3VL.ChatTemplate.load(folder: directory)
        #expect(template.variant == (model.contains("Thinking") ? .thinking : .instruct))
        let casesText = try String(contentsOf: directory.appendingPathComponent("examples/cases.json"), encoding: .utf8)
        guard case .array(let all)? = Qwen3VL.OrderedJSON(parsing: casesText),
              let example = all.first(where: { $0["name"]?.string == name })
        else { Issue.record("no case \(name)"); return }
        let messages = try Self.messages(example["messages"])
        var tools: [Qwen3VL.OrderedJSON] = []
        if case .array(let list)? = example["tools"] { tools = list }
        let rendered = template.render(messages, tools: tools, addGenerationPrompt: example["add_generation_prompt"] == .bool(true))
        let expected = try String(contentsOf: directory.appendingPathComponent("examples/\(name).txt"), encoding: .utf8)
        #expect(rendered == expected)
    }

    @Test func visionIDsCountImagesAcrossTurns() {
        let template = Qwen3VL.ChatTemplate(.thinking)
        let rendered = template.render([
            .init(role: "user", content: .parts([.image, .text("first")])),
            .init(role: "assistant", content: .text("ok")),
            .init(role: "user", content: .parts([.image, .video, .text("second")])),
        ], addGenerationPrompt: true, addVisionID: true)
        #expect(rendered.contains("Picture 1: <|vision_start|><|image_pad|><|vision_end|>first"))
        #expect(rendered.contains("Picture 2: <|vision_start|><|image_pad|><|vision_end|>Video 1: <|vision_start|><|video_pad|><|vision_end|>second"))
        #expect(rendered.hasSuffix("<|im_start|>assistant\n<think>\n"))
    }

    @Test func unknownOrMissingTemplatesAreClearErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = #expect(throws: Qwen3VL.TemplateError.self) { try Qwen3VL.ChatTemplate.load(folder: folder) }
        #expect(missing?.message.contains("has no chat template") == true)
        try Data("{{ messages }}".utf8).write(to: folder.appendingPathComponent("chat_template.jinja"))
        let foreign = #expect(throws: Qwen3VL.TemplateError.self) { try Qwen3VL.ChatTemplate.load(folder: folder) }
        #expect(foreign?.message.contains("not one of Qwen3-VL's") == true)
    }

    @Test func orderedJSONKeepsKeyOrderAndPrintsLikeToJSON() throws {
        let json = try #require(Qwen3VL.OrderedJSON(parsing: #"{"z": 1, "a": [true, null, 2.5, "é<>&'\n"], "m": {"b": 1.0}}"#))
        #expect(json.json == #"{"z": 1, "a": [true, null, 2.5, "é<>&'\n"], "m": {"b": 1.0}}"#)
        #expect(Qwen3VL.OrderedJSON(parsing: "{oops}") == nil)
    }

    /// `cases.json` messages as template messages.
    static func messages(_ value: Qwen3VL.OrderedJSON?) throws -> [Qwen3VL.ChatTemplate.Message] {
        guard case .array(let list)? = value else { return [] }
        return list.map { message in
            let content: Qwen3VL.ChatTemplate.Content
            switch message["content"] {
            case .array(let parts)?:
                content = .parts(parts.compactMap { part in
                    switch part["type"]?.string {
                    case "image": .image
                    case "video": .video
                    default: part["text"]?.string.map { .text($0) }
                    }
                })
            default:
                content = .text(message["content"]?.string ?? "")
            }
            var calls: [Qwen3VL.ChatTemplate.ToolCall] = []
            if case .array(let list)? = message["tool_calls"] {
                calls = list.compactMap { call in
                    let function = call["function"] ?? call
                    guard let name = function["name"]?.string, let arguments = function["arguments"] else { return nil }
                    return .init(name: name, arguments: arguments.string.map { .text($0) } ?? .object(arguments))
                }
            }
            return .init(role: message["role"]?.string ?? "", content: content, reasoningContent: message["reasoning_content"]?.string,
                         toolCalls: calls)
        }
    }
}
