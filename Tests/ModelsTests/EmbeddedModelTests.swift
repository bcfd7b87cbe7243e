import Foundation
import Imaging
import Logging
import EmbeddedModel
import Models
import Testing
import TestSupportCore

/// The embedded engine as a ``VisionLanguageModel`` on the tiny random checkpoint: consecutive agent
/// steps reuse the previous step's KV cache and image features, and reuse never changes the reply.
@Suite("Embedded model reuses the previous step")
struct EmbeddedModelTests {

    static func load() throws -> EmbeddedModel {
        try EmbeddedModel(folder: Repository.fixtures.appendingPathComponent("Golden/tiny-tied"),
                          tokenizerFolder: Repository.fixtures.appendingPathComponent("QwenTokenizer"), logger: Logger(label: "test"))
    }

    /// Two screenshots of the same size that differ in one corner.
    static let first = RGBImage(width: 96, height: 64, fill: RGB(hex: 0x3366CC))
    static let second: RGBImage = {
        var image = first
        image.fillRect(Rect(x: 0, y: 0, width: 20, height: 20), color: RGB(hex: 0xFFFFFF))
        return image
    }()

    /// The agent loop's shape: system, task, then [earlier screenshot, reply, feedback], then the new screenshot.
    static func step(_ n: Int, previousReply: String = "") -> [ChatMessage] {
        var conversation: [ChatMessage] = [.system("You operate a desktop."), ChatMessage(role: .user, content: [.text("Task: log out")])]
        if n == 2 {
            conversation += [ChatMessage(role: .user, content: [.image(first)]), .assistant(previousReply),
                             ChatMessage(role: .user, content: [.text("The screen changed.")])]
        }
        conversation.append(ChatMessage(role: .user, content: [.image(n == 1 ? first : second), .text("What is the next step?")]))
        return conversation
    }

    static let settings = GenerationSettings(temperature: 0, maxNewTokens: 8)

    @Test func consecutiveStepsReuseTheCacheAndRepliesStayTheSame() async throws {
        let model = try Self.load()
        let first = await collect(model.generate(Self.step(1), settings: Self.settings))
        var call = try #require(first.cost)
        #expect(call.reusedTokens == 0 && call.images == 1 && call.encodedImages == 1)
        #expect(first.statuses.first == "reading a 96×64 screenshot", "\(first.statuses)")
        let firstTokens = try #require(call.promptTokens)
        #expect(call.completionTokens == 8)

        let next = await collect(model.generate(Self.step(2, previousReply: first.text), settings: Self.settings))
        call = try #require(next.cost)
        // System prompt and task come from the cache; the first screenshot is not encoded again.
        #expect((call.reusedTokens ?? 0) > 10 && (call.reusedTokens ?? 0) < firstTokens, "\(call)")
        #expect(call.images == 2 && call.encodedImages == 1, "\(call)")

        // A fresh engine computes everything and must say the same.
        let fresh = await collect(try Self.load().generate(Self.step(2, previousReply: first.text), settings: Self.settings))
        #expect(fresh.text == next.text)
        #expect(fresh.cost?.reusedTokens == 0 && fresh.cost?.encodedImages == 2)

        // The same conversation again: everything but the last token is reused, no image is encoded.
        let again = await collect(model.generate(Self.step(2, previousReply: first.text), settings: Self.settings))
        #expect(again.text == next.text)
        #expect(again.cost?.reusedTokens == (again.cost?.promptTokens).map { $0 - 1 } && again.cost?.encodedImages == 0)
        #expect(again.statuses.allSatisfy { !$0.contains("screenshot") }, "no screenshot read again: \(again.statuses)")
    }
}

/// The system prompt's keys and values saved by one run and taken by the next.
@Suite("Embedded model keeps the system prompt between runs")
struct EmbeddedPromptFileTests {
    static func load(promptFiles: URL) throws -> EmbeddedModel {
        try EmbeddedModel(folder: Repository.fixtures.appendingPathComponent("Golden/tiny-tied"),
                          tokenizerFolder: Repository.fixtures.appendingPathComponent("QwenTokenizer"), promptFiles: promptFiles,
                          logger: Logger(label: "test"))
    }

    static func files(in folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).sorted { $0.path < $1.path }
    }

    @Test func aLaterRunStartsFromTheSavedSystemPromptAndRepliesTheSame() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let step = EmbeddedModelTests.step(1), settings = EmbeddedModelTests.settings

        let first = await collect(try Self.load(promptFiles: folder).generate(step, settings: settings))
        #expect(first.cost?.reusedTokens == 0 && first.cost?.savedTokens == nil, "\(String(describing: first.cost))")
        let saved = try Self.files(in: folder)
        #expect(saved.count == 1 && saved.allSatisfy { $0.pathExtension == "kv" }, "\(saved)")

        // "<|im_start|>system\nYou operate a desktop.<|im_end|>": the system turn, and no more.
        let later = await collect(try Self.load(promptFiles: folder).generate(step, settings: settings))
        #expect(later.text == first.text)
        #expect(later.cost?.savedTokens == 9 && later.cost?.reusedTokens == nil, "\(String(describing: later.cost))")
        #expect(later.cost?.description.contains("9 of them saved by an earlier run") == true)

        // A broken file is computed around, then replaced by a good one.
        try Data("qwen3vl-prompt-kv 1\n{}\n".utf8).write(to: saved[0])
        let broken = await collect(try Self.load(promptFiles: folder).generate(step, settings: settings))
        #expect(broken.text == first.text && broken.cost?.savedTokens == nil)
        let mended = await collect(try Self.load(promptFiles: folder).generate(step, settings: settings))
        #expect(mended.text == first.text && mended.cost?.savedTokens == 9)
        #expect(try Self.files(in: folder) == saved, "one file, no temporary left")
    }

    /// A server switching between system prompts takes each from its file instead of computing it again.
    @Test func aSwitchBackToAnotherSystemPromptTakesItFromItsFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        func conversation(_ system: String) -> [ChatMessage] { [.system(system), ChatMessage(role: .user, content: [.text("Task: log out")])] }
        let model = try Self.load(promptFiles: folder)
        var calls: [ModelCall?] = []
        for system in ["You operate a desktop.", "You answer questions.", "You operate a desktop.", "You operate a desktop."] {
            calls.append(await collect(model.generate(conversation(system), settings: EmbeddedModelTests.settings)).cost)
        }
        #expect(calls.map { $0?.savedTokens } == [nil, nil, 9, nil], "\(calls)")
        #expect(calls[3]?.reusedTokens == (calls[3]?.promptTokens).map { $0 - 1 }, "the same conversation again comes from memory")
        #expect(try Self.files(in: folder).count == 2)
    }

    /// A system turn with a picture is not kept: its rows come from the vision tower, not its tokens.
    @Test func aSystemTurnWithAnImageIsNotSaved() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let conversation = [ChatMessage(role: .system, content: [.image(EmbeddedModelTests.first), .text("Match this look.")]),
                            ChatMessage(role: .user, content: [.text("Task: log out")])]
        let run = await collect(try Self.load(promptFiles: folder).generate(conversation, settings: EmbeddedModelTests.settings))
        #expect(run.error == nil && run.cost?.completionTokens == 8, "\(String(describing: run.error))")
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    @Test func onlyTheNewestFilesAreKept() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-files-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try Self.load(promptFiles: folder)
        var names: [[URL]] = []
        for profile in 0...EmbeddedModel.promptFilesKept {
            let conversation = [ChatMessage.system("Profile \(profile)."), ChatMessage(role: .user, content: [.text("Task: log out")])]
            _ = await collect(model.generate(conversation, settings: EmbeddedModelTests.settings))
            names.append(try Self.files(in: folder))
        }
        #expect(names.map(\.count) == [1, 2, 3, 4, 4])
        #expect(!names[4].contains(names[0][0]), "the oldest went")
    }
}
