import Foundation
import Testing
import TestSupportCore

@testable import Qwen3VL
import Qwen3VLPrompt

/// A prompt prefix's keys and values saved by one cache and loaded by another give what computing
/// them gives; a file saved for anything else is not used.
@Suite("Prompt files")
struct PromptFileTests {
    static let folder = TextModelGoldenTests.golden.appendingPathComponent("tiny-tied")
    /// The text before the first image of ``PromptCacheTests/prompt(tail:)``.
    static let prefix = 30

    @Test(arguments: Qwen3VL.Precision.allCases)
    func aLoadedPrefixGivesWhatComputingItGives(precision: Qwen3VL.Precision) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-\(UUID().uuidString).kv")
        defer { try? FileManager.default.removeItem(at: file) }
        let prompt = PromptCacheTests.prompt()
        let outcome = try await onOwnThread { () throws -> (PromptCacheTests.Turn, [Int], Int) in
            let model = try Qwen3VL.TextModel(folder: Qwen3VL.ModelFolder(contentsOf: Self.folder), precision: precision)
            let saver = Qwen3VL.PromptCache(model: model)
            _ = Qwen3VL.Generator(model: model).generate(prompt, visual: PromptCacheTests.visual(seeds: [1, 2]),
                                                         imageGrids: [PromptCacheTests.grid, PromptCacheTests.grid],
                                                         options: PromptCacheTests.greedy, promptCache: saver)
            try saver.save(first: Self.prefix, to: file, stamp: "weights A")

            let loader = Qwen3VL.PromptCache(model: model)
            // Anything but the very stamp, shape and tokens is not used, and leaves the cache as it was.
            let refused = [try loader.load(from: file, stamp: "weights B", tokens: prompt[..<Self.prefix]),
                           try loader.load(from: file, stamp: "weights A", tokens: prompt[..<(Self.prefix - 1)]),
                           try loader.load(from: file, stamp: "weights A", tokens: [0] + prompt[1..<Self.prefix])]
            #expect(!loader.begins(with: prompt[..<1]), "nothing was loaded")
            let loaded = try loader.load(from: file, stamp: "weights A", tokens: prompt[..<Self.prefix])
            #expect(loader.begins(with: prompt[..<Self.prefix]) && !loader.begins(with: prompt[..<(Self.prefix + 1)]))
            let turn = PromptCacheTests.generate(prompt, images: [1, 2], cache: loader, model: model)
            return (turn, refused, loaded)
        }
        let (turn, refused, loaded) = outcome
        #expect(refused == [0, 0, 0])
        #expect(loaded == Self.prefix)
        #expect(turn.reusedTokens == Self.prefix)
        PromptCacheTests.expectAgreement(turn)
    }

    @Test func aFileOfAnotherPrecisionOrCutShortIsNotUsed() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-\(UUID().uuidString).kv")
        defer { try? FileManager.default.removeItem(at: file) }
        let prompt = PromptCacheTests.prompt()
        let loaded = try await onOwnThread { () throws -> [Int] in
            let f32 = try Qwen3VL.TextModel(folder: Qwen3VL.ModelFolder(contentsOf: Self.folder), precision: .f32)
            let bf16 = try Qwen3VL.TextModel(folder: Qwen3VL.ModelFolder(contentsOf: Self.folder), precision: .bf16)
            let saver = Qwen3VL.PromptCache(model: f32)
            _ = Qwen3VL.Generator(model: f32).generate(Array(prompt[..<Self.prefix]), options: PromptCacheTests.greedy, promptCache: saver)
            try saver.save(first: Self.prefix, to: file, stamp: "s")
            var results = [try Qwen3VL.PromptCache(model: bf16).load(from: file, stamp: "s", tokens: prompt[..<Self.prefix])]
            let whole = try Data(contentsOf: file)
            try whole.dropLast(4).write(to: file)
            results.append(try Qwen3VL.PromptCache(model: f32).load(from: file, stamp: "s", tokens: prompt[..<Self.prefix]))
            try Data("not a prompt file\n".utf8).write(to: file)
            results.append(try Qwen3VL.PromptCache(model: f32).load(from: file, stamp: "s", tokens: prompt[..<Self.prefix]))
            try whole.write(to: file)
            results.append(try Qwen3VL.PromptCache(model: f32).load(from: file, stamp: "s", tokens: prompt[..<Self.prefix]))
            return results
        }
        #expect(loaded == [0, 0, 0, Self.prefix], "bf16, cut short, not a prompt file, whole")
    }

    @Test func namesDependOnTheStampAndEveryToken() {
        let name = Qwen3VL.PromptFile.name(stamp: "s", tokens: [1, 2, 3])
        #expect(name.hasSuffix(".kv"))
        #expect(name == Qwen3VL.PromptFile.name(stamp: "s", tokens: [1, 2, 3]))
        #expect(Set([name, Qwen3VL.PromptFile.name(stamp: "t", tokens: [1, 2, 3]), Qwen3VL.PromptFile.name(stamp: "s", tokens: [1, 2, 4]),
                     Qwen3VL.PromptFile.name(stamp: "s", tokens: [1, 2])]).count == 4)
    }
}
