import Foundation
import Qwen3VL
import Testing

/// The text decoder against what Hugging Face transformers computed for tiny random-weight
/// Qwen3-VL checkpoints with the real architecture (`Fixtures/Golden`, made by `make_golden.py`).
@Suite("Qwen3-VL text decoder matches transformers")
struct TextModelGoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/Golden")

    struct Prompt {
        let inputIDs: [Int32]
        let greedy: [Int32]
        let logits: [Float]
    }

    static func prompts(_ model: String) throws -> [Prompt] {
        let folder = golden.appendingPathComponent(model)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("golden.json"))) as? [String: Any]
        return try (json?["prompts"] as? [[String: Any]] ?? []).map { prompt in
            let data = try Data(contentsOf: folder.appendingPathComponent(prompt["logits_last_file"] as? String ?? ""))
            let logits = data.withUnsafeBytes { raw in (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
            return Prompt(inputIDs: (prompt["input_ids"] as? [Int] ?? []).map(Int32.init), greedy: (prompt["greedy_new_ids"] as? [Int] ?? []).map(Int32.init),
                          logits: logits)
        }
    }

    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func lastPositionLogitsMatch(model: String) throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(model))
        let decoder = try Qwen3VL.TextModel(folder: folder)
        let prompts = try Self.prompts(model)
        #expect(prompts.count == 3)
        for prompt in prompts {
            let cache = Qwen3VL.KVCache(config: decoder.config, capacity: prompt.inputIDs.count)
            let logits = decoder.forward(prompt.inputIDs, positions: prompt.inputIDs.indices.map { [$0, $0, $0] }, cache: cache)
            #expect(logits.count == prompt.logits.count)
            let scale = prompt.logits.map(abs).max() ?? 1
            let worst = zip(logits, prompt.logits).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst / scale < 1e-4, "max |Δlogit| \(worst) against a scale of \(scale)")
        }
    }

    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func greedyContinuationsAreIdentical(model: String) throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(model))
        let generator = Qwen3VL.Generator(model: try Qwen3VL.TextModel(folder: folder))
        for prompt in try Self.prompts(model) {
            var options = Qwen3VL.SamplingOptions()
            options.maxNewTokens = prompt.greedy.count
            options.temperature = 0
            options.stopTokens = [] // transformers was asked for exactly this many tokens
            #expect(generator.generate(prompt.inputIDs, options: options) == prompt.greedy)
        }
    }
}
