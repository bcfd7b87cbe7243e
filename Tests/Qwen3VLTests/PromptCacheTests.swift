import Foundation
import Testing
import TestSupportCore

@testable import Qwen3VL
import Qwen3VLPrompt

/// Reusing the KV cache of a previous prompt gives exactly what computing the whole prompt gives,
/// and computes only what changed; prefill in blocks of queries equals decoding one token at a time.
@Suite("Prompt cache and blocked prefill")
struct PromptCacheTests {
    static let model = try! Qwen3VL.TextModel(folder: Qwen3VL.ModelFolder(
        contentsOf: TextModelGoldenTests.golden.appendingPathComponent("tiny-tied")), precision: .f32)
    static let grid = Qwen3VL.Grid(t: 1, h: 4, w: 6, mergeSize: 2) // 6 pads per image

    /// Text, image A, text, image B, text: 57 tokens.
    static func prompt(tail: [Int32] = [11, 12, 13]) -> [Int32] {
        let pads = [Int32](repeating: model.imagePad, count: 6)
        return Array(100..<130) + [151652] + pads + [151653] + Array(200..<210) + [151652] + pads + [151653] + tail
    }

    /// Visual rows for the two images: each image's rows from its own seed.
    static func visual(seeds: [UInt64]) -> Qwen3VL.VisualInput {
        let width = model.config.hiddenSize
        var input = Qwen3VL.VisualInput()
        for seed in seeds {
            var random = Qwen3VL.SplitMix64(seed: seed)
            func rows() -> [Float] { (0..<6 * width).map { _ in Float(Double(random.next() >> 11) / Double(1 << 53)) - 0.5 } }
            input.append(features: rows(), deepstack: [rows()]) // the tiny tower has one DeepStack tap
        }
        return input
    }

    static var greedy: Qwen3VL.SamplingOptions {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = 6
        options.temperature = 0
        options.stopTokens = []
        return options
    }

    /// One generation through the shared cache, and the same without it.
    struct Turn: Sendable {
        let reused: [Int32]
        let computed: [Int32]
        /// max |Δ final logit| and the largest logit without the cache.
        let worst: Float
        let scale: Float
        /// The prompt tokens the shared cache supplied.
        let reusedTokens: Int
    }

    /// Generates with the shared cache and without one (checked with ``expectAgreement(_:)``).
    static func generate(_ prompt: [Int32], images: [UInt64], cache: Qwen3VL.PromptCache, model: Qwen3VL.TextModel = Self.model) -> Turn {
        let generator = Qwen3VL.Generator(model: model)
        let grids = images.map { _ in Self.grid }
        let reused = generator.generate(prompt, visual: Self.visual(seeds: images), imageGrids: grids, imageKeys: images.map(Int.init),
                                        options: Self.greedy, promptCache: cache)
        let fresh = Qwen3VL.PromptCache(model: model)
        let computed = generator.generate(prompt, visual: Self.visual(seeds: images), imageGrids: grids, options: Self.greedy, promptCache: fresh)
        let scale = fresh.workspace.logits.map(abs).max() ?? 1
        let worst = zip(cache.workspace.logits, fresh.workspace.logits).map { abs($0 - $1) }.max() ?? .infinity
        return Turn(reused: reused, computed: computed, worst: worst, scale: scale, reusedTokens: cache.reusedTokens)
    }

    /// With the cache and without it, the same tokens and final logits.
    static func expectAgreement(_ turn: Turn) {
        #expect(turn.reused == turn.computed)
        #expect(turn.worst <= 1e-5 * turn.scale, "max |Δlogit| \(turn.worst) at scale \(turn.scale)")
    }

    @Test func sharedPrefixesAreReusedExactly() async throws {
        let first = Self.prompt()
        let second = Self.prompt(tail: [11, 99, 98, 97])
        let turns = try await onOwnThread {
            let cache = Qwen3VL.PromptCache(model: Self.model)
            var turns = [Self.generate(first, images: [1, 2], cache: cache)]
            // The same images, another ending: everything up to the ending comes from the cache.
            turns.append(Self.generate(second, images: [1, 2], cache: cache))
            // The next turn after the reply: the prompt, the reply (its last token was never fed back) and more.
            turns.append(Self.generate(second + turns[1].reused + [151645, 198, 300, 301], images: [1, 2], cache: cache))
            // Image B replaced by another picture of the same size: the tokens match, the cache stops at its first pad.
            turns.append(Self.generate(first, images: [1, 3], cache: cache))
            // The very same prompt again: all but the last token.
            turns.append(Self.generate(first, images: [1, 3], cache: cache))
            // A prompt that shares nothing.
            turns.append(Self.generate([400, 401, 402], images: [], cache: cache))
            return turns
        }
        turns.forEach(Self.expectAgreement)
        #expect(turns.map(\.reusedTokens) == [0, first.count - 2, second.count + turns[1].reused.count - 1, 30 + 1 + 6 + 1 + 10 + 1,
                                             first.count - 1, 0])
    }

    /// The cache grows with the reply instead of reserving the whole budget; growing loses nothing.
    @Test func theCacheGrowsWithTheReply() async throws {
        let prompt: [Int32] = [9707, 11, 1879]
        let (tokens, capacity, expected) = try await onOwnThread { Self.growingAndWhole(prompt) }
        #expect(capacity == prompt.count + 3 * 8, "grew twice, by 8 tokens")
        #expect(tokens == expected)
    }

    /// 20 greedy tokens through a cache that grows by 8, its final capacity, and the same decode
    /// against one cache large enough from the start.
    static func growingAndWhole(_ prompt: [Int32]) -> (tokens: [Int32], capacity: Int, expected: [Int32]) {
        let model = Self.model
        let cache = Qwen3VL.PromptCache(model: model, growth: 8)
        var options = Self.greedy
        options.maxNewTokens = 20
        let tokens = Qwen3VL.Generator(model: model).generate(prompt, options: options, promptCache: cache)

        // The same greedy decode against one cache that was large enough from the start.
        let whole = Qwen3VL.KVCache(config: model.config, capacity: prompt.count + options.maxNewTokens)
        let workspace = Qwen3VL.Workspace(config: model.config)
        model.forward(prompt, positions: prompt.indices.map { [$0, $0, $0] }, cache: whole, workspace: workspace)
        var expected: [Int32] = []
        while expected.count < options.maxNewTokens {
            var best = 0 // the first largest logit, as torch.argmax
            for i in 1..<model.config.vocabSize where workspace.logits[i] > workspace.logits[best] { best = i }
            let next = Int32(best)
            expected.append(next)
            if expected.count == options.maxNewTokens { break }
            let position = whole.count
            model.forward([next], positions: [[position, position, position]], cache: whole, workspace: workspace)
        }
        return (tokens, cache.capacity, expected)
    }

    @Test func blockedPrefillEqualsOneTokenAtATime() async throws {
        let (worst, scale, keysAgree) = try await onOwnThread { Self.blockedAndSingle() }
        #expect(worst <= 1e-5 * scale, "max |Δlogit| \(worst) at scale \(scale)")
        #expect(keysAgree, "the cached keys agree")
    }

    /// Prefill in blocks of queries against one token at a time: max |Δlogit|, the logit scale, and
    /// whether the cached keys agree.
    static func blockedAndSingle() -> (worst: Float, scale: Float, keysAgree: Bool) {
        let model = Self.model
        let tokens = (0..<2 * Qwen3VL.Attention.queryBlock + 42).map { Int32(1000 + $0 * 7) } // more than two blocks of queries
        let positions = tokens.indices.map { [$0, $0, $0] }
        let blocked = Qwen3VL.KVCache(config: model.config, capacity: tokens.count)
        let blockedSpace = Qwen3VL.Workspace(config: model.config)
        model.forward(Array(tokens[..<20]), positions: Array(positions[..<20]), cache: blocked, workspace: blockedSpace)
        model.forward(Array(tokens[20...]), positions: Array(positions[20...]), cache: blocked, workspace: blockedSpace) // past > 0

        let single = Qwen3VL.KVCache(config: model.config, capacity: tokens.count)
        let singleSpace = Qwen3VL.Workspace(config: model.config)
        for i in tokens.indices { model.forward([tokens[i]], positions: [positions[i]], cache: single, workspace: singleSpace) }
        let scale = singleSpace.logits.map(abs).max() ?? 1
        let worst = zip(blockedSpace.logits, singleSpace.logits).map { abs($0 - $1) }.max() ?? .infinity
        return (worst, scale, zip(blocked.keys, single.keys).allSatisfy { abs($0 - $1) <= 1e-5 })
    }
}
