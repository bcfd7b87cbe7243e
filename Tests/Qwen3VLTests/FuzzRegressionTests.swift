import Foundation
import Qwen3VLPrompt
import TestSupportCore
import Testing

/// Inputs that crashed a fuzz target (scripts/fuzz), kept in Fixtures/FuzzRegressions/TARGET/ and
/// replayed here on every test run.
@Suite("Inputs the fuzzer once crashed on")
struct FuzzRegressionTests {
    static let folder = Repository.fixtures.appendingPathComponent("FuzzRegressions")

    static func inputs(_ target: String) throws -> [(name: String, text: String)] {
        let directory = folder.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map { name in
            (name, String(decoding: try Data(contentsOf: directory.appendingPathComponent(name)), as: UTF8.self))
        }
    }

    /// Image markup written as text (in a task, or a reply fed back as history) once reached the engine
    /// as pad tokens without image features, and `expandImagePads`' precondition crashed the process.
    /// Now the prompt is refused with a message, for either template and with or without an image.
    @Test func imageMarkupInTheConversationsTextIsRefusedNotACrash() throws {
        let inputs = try Self.inputs("ChatTemplate")
        #expect(!inputs.isEmpty)
        for (name, text) in inputs {
            for variant in [Qwen3VL.ChatTemplate.Variant.thinking, .instruct] {
                for withImage in [true, false] {
                    let parts: [Qwen3VL.ChatTemplate.Part] = (withImage ? [.image] : []) + [.text(text)]
                    let prompt = Qwen3VL.ChatTemplate(variant).render([.init(role: "user", content: .parts(parts))], addGenerationPrompt: true)
                    let error = #expect(throws: Qwen3VL.TemplateError.self, "\(name)") {
                        try Qwen3VL.expandImagePads(in: prompt, grids: withImage ? [Qwen3VL.Grid(t: 1, h: 4, w: 4, mergeSize: 2)] : [])
                    }
                    #expect(error?.message.contains("<|image_pad|>") == true)
                }
            }
        }
        // The markup the template writes for a real image still expands.
        let prompt = Qwen3VL.ChatTemplate(.thinking).render([.init(role: "user", content: .parts([.image, .text("hi")]))], addGenerationPrompt: true)
        #expect(try Qwen3VL.expandImagePads(in: prompt, grids: [Qwen3VL.Grid(t: 1, h: 4, w: 4, mergeSize: 2)]).components(separatedBy: "<|image_pad|>").count == 5)
    }
}
