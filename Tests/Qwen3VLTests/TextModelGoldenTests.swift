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
            let logits = try readFloat32(folder.appendingPathComponent(prompt["logits_last_file"] as? String ?? ""))
            return Prompt(inputIDs: (prompt["input_ids"] as? [Int] ?? []).map(Int32.init), greedy: (prompt["greedy_new_ids"] as? [Int] ?? []).map(Int32.init),
                          logits: logits)
        }
    }

    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func lastPositionLogitsMatch(model: String) throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(model))
        let decoder = try Qwen3VL.TextModel(folder: folder, precision: .f32)
        let prompts = try Self.prompts(model)
        #expect(prompts.count == 3)
        for prompt in prompts {
            let cache = Qwen3VL.KVCache(config: decoder.config, capacity: prompt.inputIDs.count)
            let workspace = Qwen3VL.Workspace(config: decoder.config)
            decoder.forward(prompt.inputIDs, positions: prompt.inputIDs.indices.map { [$0, $0, $0] }, cache: cache, workspace: workspace)
            let logits = workspace.logits
            #expect(logits.count == prompt.logits.count)
            let scale = prompt.logits.map(abs).max() ?? 1
            let worst = zip(logits, prompt.logits).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst / scale < 1e-4, "max |Δlogit| \(worst) against a scale of \(scale)")
        }
    }

    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func greedyContinuationsAreIdentical(model: String) throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(model))
        let generator = Qwen3VL.Generator(model: try Qwen3VL.TextModel(folder: folder, precision: .f32))
        for prompt in try Self.prompts(model) {
            var options = Qwen3VL.SamplingOptions()
            options.maxNewTokens = prompt.greedy.count
            options.temperature = 0
            options.stopTokens = [] // transformers was asked for exactly this many tokens
            #expect(generator.generate(prompt.inputIDs, options: options) == prompt.greedy)
        }
    }
}

/// The 2B model's text widths (hidden 2048, 16 heads of 128, intermediate 6144) with one layer: widths
/// where tiny models hide numeric problems. Its weights are generated, not stored (see
/// `Fixtures/Golden/make_realistic_golden.py`): SplitMix64 over the whole parameter stream.
@Suite("Qwen3-VL text decoder at realistic width matches transformers")
struct RealisticWidthGoldenTests {
    static let folder = TextModelGoldenTests.golden.appendingPathComponent("realistic")

    /// Every weight, in `order`, from one SplitMix64 stream (the same formula as the Python script).
    static func weights(order: [String]) -> [String: [Float]] {
        var offset: UInt64 = 0
        var weights: [String: [Float]] = [:]
        for name in order {
            let shape = shapes[name.replacingOccurrences(of: "model.language_model.", with: "").replacingOccurrences(of: "layers.0.", with: "")]!
            let scale = name.hasSuffix("norm.weight") ? 0.1 : name.contains("embed_tokens") ? 0.2 : 0.04
            let base = name.hasSuffix("norm.weight") ? 1.0 : 0.0
            let count = shape.reduce(1, *)
            weights[name] = (0..<count).map { i in
                var z = 2026 &+ (offset &+ UInt64(i) &+ 1) &* 0x9E37_79B9_7F4A_7C15
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                return Float(base + scale * (2 * (Double(z >> 40) / Double(1 << 24)) - 1))
            }
            offset += UInt64(count)
        }
        return weights
    }

    static let shapes: [String: [Int]] = [
        "embed_tokens.weight": [4096, 2048], "input_layernorm.weight": [2048], "post_attention_layernorm.weight": [2048],
        "self_attn.q_norm.weight": [128], "self_attn.k_norm.weight": [128], "self_attn.q_proj.weight": [2048, 2048],
        "self_attn.k_proj.weight": [1024, 2048], "self_attn.v_proj.weight": [1024, 2048], "self_attn.o_proj.weight": [2048, 2048],
        "mlp.gate_proj.weight": [6144, 2048], "mlp.up_proj.weight": [6144, 2048], "mlp.down_proj.weight": [2048, 6144], "norm.weight": [2048],
    ]

    @Test func logitsAndGreedyTokensMatch() throws {
        let golden = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("golden.json"))) as? [String: Any])
        let weights = Self.weights(order: golden["weight_order"] as? [String] ?? [])
        let configuration = try Qwen3VL.Configuration(contentsOf: Self.folder.appendingPathComponent("config.json"))
        let model = try Qwen3VL.TextModel(config: configuration.text, tiedOutput: true, precision: .f32) { name, shape in
            let values = try #require(weights[name], "no generated weight \(name)")
            #expect(values.count == shape.reduce(1, *), "\(name)")
            return Qwen3VL.Weight(values, shape: shape)
        }
        for prompt in golden["prompts"] as? [[String: Any]] ?? [] {
            let ids = (prompt["input_ids"] as? [Int] ?? []).map(Int32.init)
            let expected = try readFloat32(Self.folder.appendingPathComponent(prompt["logits_last_file"] as? String ?? ""))
            let cache = Qwen3VL.KVCache(config: model.config, capacity: ids.count)
            let workspace = Qwen3VL.Workspace(config: model.config)
            model.forward(ids, positions: ids.indices.map { [$0, $0, $0] }, cache: cache, workspace: workspace)
            let logits = workspace.logits
            let scale = expected.map(abs).max() ?? 1
            let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst / scale < 1e-4, "max |Δlogit| \(worst) against a scale of \(scale)")
            var options = Qwen3VL.SamplingOptions()
            options.maxNewTokens = 8
            options.temperature = 0
            options.stopTokens = []
            #expect(Qwen3VL.Generator(model: model).generate(ids, options: options) == (prompt["greedy_new_ids"] as? [Int] ?? []).map(Int32.init))
        }
    }
}

@Suite("Sampling and the thinking budget")
struct SamplingTests {
    static let generator: Qwen3VL.Generator = {
        let folder = try! Qwen3VL.ModelFolder(contentsOf: TextModelGoldenTests.golden.appendingPathComponent("tiny-tied"))
        return Qwen3VL.Generator(model: try! Qwen3VL.TextModel(folder: folder, precision: .f32))
    }()
    static let prompt: [Int32] = [9707, 11, 1879, 0]

    @Test func topKOfOneIsGreedyAndSeedsRepeat() {
        var greedy = Qwen3VL.SamplingOptions()
        greedy.maxNewTokens = 8
        greedy.temperature = 0
        greedy.stopTokens = []
        var topOne = greedy
        topOne.temperature = 0.8
        topOne.topK = 1
        #expect(Self.generator.generate(Self.prompt, options: topOne) == Self.generator.generate(Self.prompt, options: greedy))

        var sampled = greedy
        sampled.temperature = 1.5
        sampled.topP = 0.9
        sampled.seed = 7
        let first = Self.generator.generate(Self.prompt, options: sampled)
        #expect(first == Self.generator.generate(Self.prompt, options: sampled), "same seed, same tokens")
        sampled.seed = 8
        #expect(first != Self.generator.generate(Self.prompt, options: sampled), "another seed, other tokens")
    }

    @Test func theThinkingBudgetClosesTheReasoning() {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = 10
        options.temperature = 0
        options.stopTokens = []
        options.thinkingBudget = 4
        // The Thinking generation prompt ends with "<think>\n".
        let tokens = Self.generator.generate(Self.prompt + [Qwen3VL.SpecialToken.thinkStart, 198], options: options)
        #expect(tokens.count == 10)
        #expect(tokens[4] == Qwen3VL.SpecialToken.thinkEnd, "\(tokens)")
        #expect(!tokens[5...].contains(Qwen3VL.SpecialToken.thinkEnd) || tokens.firstIndex(of: Qwen3VL.SpecialToken.thinkEnd) == 4)
    }

    @Test func generationStopsAtAStopTokenAndWhenTheCallerSaysSo() {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = 12
        options.temperature = 0
        options.stopTokens = [66256] // the third greedy token of this prompt
        #expect(Self.generator.generate(Self.prompt, options: options) == [121743, 56439, 66256])
        options.stopTokens = []
        var seen = 0
        let cancelled = Self.generator.generate(Self.prompt, options: options) { _ in seen += 1; return seen < 2 }
        #expect(cancelled.count == 2)
    }
}
