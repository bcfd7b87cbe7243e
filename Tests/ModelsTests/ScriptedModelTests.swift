import Foundation
import Models
import Testing

@Suite("Scripted model: replays a transcript, and says so")
struct ScriptedModelTests {
    @Test func repliesInOrderInChunksThenRunsOut() async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("transcript-\(UUID().uuidString).txt")
        try Data("first reply\n</think>\nok\n---8<---\nsecond 世界\n---8<---\n\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let model = try ScriptedModel(transcript: url)
        #expect(model.identity.kind == .scripted)
        #expect(model.identity.description.hasPrefix("scripted: "))

        let first = await collect(model.generate([], settings: GenerationSettings()))
        #expect(first.text == "first reply\n</think>\nok")
        #expect(first.chunks.count > 1, "streamed in pieces")
        #expect(try await model.reply(to: [], settings: GenerationSettings()) == "second 世界")
        await #expect(throws: ModelError.self) {
            for try await _ in model.generate([], settings: GenerationSettings()) {}
        }
        #expect(model.used == 3)
    }

    @Test func emptyOrMissingTranscriptIsAClearError() throws {
        let missing = #expect(throws: ModelError.self) { try ScriptedModel(transcript: URL(fileURLWithPath: "/nonexistent/transcript")) }
        #expect(missing?.message.contains("/nonexistent/transcript") == true)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).txt")
        try Data("\n---8<---\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelError.self) { try ScriptedModel(transcript: url) }
    }
}
