import Foundation
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// The text decoder against what Hugging Face transformers computed for tiny random-weight
/// Qwen3-VL checkpoints with the real architecture (`Fixtures/Golden`, made by `make_golden.py`).
@Suite("Qwen3-VL text decoder matches transformers")
struct TextModelGoldenTests {
    static let golden = Repository.fixtures.appendingPathComponent("Golden")

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

    /// The logits after the whole of `ids` (one prefill), from a fresh cache.
    static func lastLogits(_ model: Qwen3VL.TextModel, _ ids: [Int32]) -> [Float] {
        let cache = Qwen3VL.KVCache(config: model.config, capacity: ids.count)
        let workspace = Qwen3VL.Workspace(config: model.config)
        model.forward(ids, positions: ids.indices.map { [$0, $0, $0] }, cache: cache, workspace: workspace)
        return workspace.logits
    }

    /// Exactly `count` greedy tokens after `ids` (transformers was asked for exactly that many).
    static func greedy(_ model: Qwen3VL.TextModel, _ ids: [Int32], count: Int) -> [Int32] {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = count
        options.temperature = 0
        options.stopTokens = []
        return Qwen3VL.Generator(model: model).generate(ids, options: options)
    }

    /// Expects `logits` within 1e-4 of `expected`, relative to the largest expected logit.
    static func expectClose(_ logits: [Float], _ expected: [Float]) {
        #expect(logits.count == expected.count)
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst / scale < 1e-4, "max |Δlogit| \(worst) against a scale of \(scale)")
    }

    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func lastPositionLogitsMatch(model: String) async throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(model))
        let prompts = try Self.prompts(model)
        #expect(prompts.count == 3)
        let inputs = prompts.map(\.inputIDs)
        let computed = try await onOwnThread {
            let decoder = try Qwen3VL.TextModel(folder: folder, precision: .f32)
            return inputs.map { Self.lastLogits(decoder, $0) }
        }
        for (logits, prompt) in zip(computed, prompts) { Self.expectClose(logits, prompt.logits) }
    }

    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func greedyContinuationsAreIdentical(model: String) async throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(model))
        let prompts = try Self.prompts(model)
        let requests = prompts.map { ($0.inputIDs, $0.greedy.count) }
        let generated = try await onOwnThread {
            let decoder = try Qwen3VL.TextModel(folder: folder, precision: .f32)
            return requests.map { Self.greedy(decoder, $0.0, count: $0.1) }
        }
        #expect(generated == prompts.map(\.greedy))
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

    /// A weight the generated stream lacks or makes in the wrong size.
    struct WrongWeight: Error, CustomStringConvertible {
        let name: String
        var description: String { "no generated weight \(name) of the expected size" }
    }

    /// The one-layer model from `config.json` and the generated weights (weight order from the golden file).
    static func model(weightOrder: [String], precision: Qwen3VL.Precision = .f32, weights format: Qwen3VL.WeightFormat = .bf16) throws
        -> Qwen3VL.TextModel
    {
        let weights = Self.weights(order: weightOrder)
        let configuration = try Qwen3VL.Configuration(contentsOf: folder.appendingPathComponent("config.json"))
        return try Qwen3VL.TextModel(config: configuration.text, imagePad: Int32(configuration.imageTokenID), tiedOutput: true,
                                     precision: precision, weights: format) { name, shape in
            guard let values = weights[name], values.count == shape.reduce(1, *) else { throw WrongWeight(name: name) }
            return Qwen3VL.Weight(values, shape: shape)
        }
    }

    @Test func logitsAndGreedyTokensMatch() async throws {
        let golden = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("golden.json"))) as? [String: Any])
        let order = golden["weight_order"] as? [String] ?? []
        let prompts = golden["prompts"] as? [[String: Any]] ?? []
        let inputs = prompts.map { ($0["input_ids"] as? [Int] ?? []).map(Int32.init) }
        let computed = try await onOwnThread {
            let model = try Self.model(weightOrder: order)
            return inputs.map { (TextModelGoldenTests.lastLogits(model, $0), TextModelGoldenTests.greedy(model, $0, count: 8)) }
        }
        for (prompt, (logits, tokens)) in zip(prompts, computed) {
            TextModelGoldenTests.expectClose(logits, try readFloat32(Self.folder.appendingPathComponent(prompt["logits_last_file"] as? String ?? "")))
            #expect(tokens == (prompt["greedy_new_ids"] as? [Int] ?? []).map(Int32.init))
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

    @Test func topKOfOneIsGreedyAndSeedsRepeat() async throws {
        var greedy = Qwen3VL.SamplingOptions()
        greedy.maxNewTokens = 8
        greedy.temperature = 0
        greedy.stopTokens = []
        var topOne = greedy
        topOne.temperature = 0.8
        topOne.topK = 1
        var sampled = greedy
        sampled.temperature = 1.5
        sampled.topP = 0.9
        sampled.seed = 7
        var reseeded = sampled
        reseeded.seed = 8
        let runs = try await onOwnThread { [greedy, topOne, sampled, reseeded] in
            [topOne, greedy, sampled, sampled, reseeded].map { Self.generator.generate(Self.prompt, options: $0) }
        }
        #expect(runs[0] == runs[1])
        #expect(runs[2] == runs[3], "same seed, same tokens")
        #expect(runs[2] != runs[4], "another seed, other tokens")
    }

    @Test func theThinkingBudgetClosesTheReasoning() async throws {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = 10
        options.temperature = 0
        options.stopTokens = []
        options.thinkingBudget = 4
        // The Thinking generation prompt ends with "<think>\n".
        let tokens = try await onOwnThread { [options] in Self.generator.generate(Self.prompt + [Qwen3VL.SpecialToken.thinkStart, 198], options: options) }
        #expect(tokens.count == 10)
        #expect(tokens[4] == Qwen3VL.SpecialToken.thinkEnd, "\(tokens)")
        #expect(!tokens[5...].contains(Qwen3VL.SpecialToken.thinkEnd) || tokens.firstIndex(of: Qwen3VL.SpecialToken.thinkEnd) == 4)
    }

    @Test func generationStopsAtAStopTokenAndWhenTheCallerSaysSo() async throws {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = 12
        options.temperature = 0
        options.stopTokens = [66256] // the third greedy token of this prompt
        var unstopped = options
        unstopped.stopTokens = []
        let (stopped, cancelled) = try await onOwnThread { [options, unstopped] in
            var seen = 0
            return (Self.generator.generate(Self.prompt, options: options),
                    Self.generator.generate(Self.prompt, options: unstopped) { _ in seen += 1; return seen < 2 })
        }
        #expect(stopped == [121743, 56439, 66256])
        #expect(cancelled.count == 2)
    }
}
