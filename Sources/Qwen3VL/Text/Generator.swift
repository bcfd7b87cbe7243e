public import Qwen3VLPrompt
import Foundation

extension Qwen3VL {
    /// How to pick tokens. `temperature` 0 (or nil) is greedy.
    public struct SamplingOptions: Sendable {
        public var maxNewTokens = 256
        public var temperature: Float?
        public var topK: Int?
        public var topP: Float?
        /// Subtracted from the logit of every token already generated (OpenAI/vLLM semantics).
        public var presencePenalty: Float = 0
        public var seed: UInt64 = 0
        /// Tokens of reasoning before `</think>` is forced (Thinking models).
        public var thinkingBudget: Int?
        public var stopTokens: Set<Int32> = SpecialToken.stopTokens
        public init() {}
    }

    /// Prefill, then decode one token at a time: greedy or sampled, stopping at a stop token or the
    /// budget, streaming each token to a callback that can cancel by returning false.
    public struct Generator: Sendable {
        public let model: TextModel

        public init(model: TextModel) { self.model = model }

        /// Generates after `prompt`, whose images (if any) come as `visual` with their grids. Returns the
        /// new tokens. With a `promptCache`, the prefix it shares with the previous prompt (images
        /// compared by `imageKeys`) is taken from the cache instead of computed, and the cache keeps
        /// this prompt and reply for the next call.
        public func generate(_ prompt: [Int32], visual: VisualInput? = nil, imageGrids: [Grid] = [],
                             imageKeys: [Int]? = nil, options: SamplingOptions, promptCache: PromptCache? = nil,
                             onToken: (Int32) -> Bool = { _ in true }) -> [Int32] {
            guard !prompt.isEmpty, options.maxNewTokens > 0 else { return [] }
            let state = promptCache ?? PromptCache(model: model)
            precondition(state.model === model, "the prompt cache belongs to another model")
            let start = state.prepare(for: prompt, imageGrids: imageGrids, imageKeys: imageKeys)
            let workspace = state.workspace
            let (positions, delta) = Qwen3VL.positionIDs(for: prompt, imageGrids: imageGrids, imagePad: model.imagePad)
            let reusedPads = prompt[..<start].lazy.filter { $0 == model.imagePad }.count
            model.forward(Array(prompt[start...]), positions: Array(positions[start...]), cache: state.cache, workspace: workspace,
                          visual: visual?.dropping(rows: reusedPads, width: model.config.hiddenSize))
            var generated: [Int32] = []
            generated.reserveCapacity(options.maxNewTokens)
            var random = SplitMix64(seed: options.seed)
            // Inside the reasoning when the prompt opened `<think>` (the Thinking generation prompt ends
            // with "<think>\n") and has not closed it.
            var thinking = (prompt.lastIndex(of: SpecialToken.thinkStart) ?? -1) > (prompt.lastIndex(of: SpecialToken.thinkEnd) ?? -1)
            while generated.count < options.maxNewTokens {
                var next = pick(&workspace.logits, generated: generated, options: options, random: &random)
                if thinking, let budget = options.thinkingBudget, generated.count >= budget, next != SpecialToken.thinkEnd {
                    next = SpecialToken.thinkEnd // the reasoning ran out of budget: close it
                }
                if next == SpecialToken.thinkEnd { thinking = false }
                generated.append(next)
                if options.stopTokens.contains(next) || !onToken(next) || generated.count == options.maxNewTokens { break }
                state.reserveNextToken()
                let position = state.cache.count + delta
                model.forward([next], positions: [[position, position, position]], cache: state.cache, workspace: workspace)
                state.append(generated: next)
            }
            return generated
        }

        private func pick(_ logits: inout [Float], generated: [Int32], options: SamplingOptions, random: inout SplitMix64) -> Int32 {
            let vocabulary = model.config.vocabSize
            if options.presencePenalty != 0 {
                for token in Set(generated) { logits[Int(token)] -= options.presencePenalty }
            }
            guard let temperature = options.temperature, temperature > 0 else {
                // Greedy: the first index of the largest logit, as torch.argmax.
                var best = 0
                for i in 1..<vocabulary where logits[i] > logits[best] { best = i }
                return Int32(best)
            }
            var candidates = Self.largest(min(options.topK.map { $0 > 0 ? $0 : vocabulary } ?? vocabulary, vocabulary),
                                          of: logits, vocabulary: vocabulary, dividedBy: temperature)
            let top = candidates[0].logit
            var probabilities = candidates.map { exp($0.logit - top) }
            let total = probabilities.reduce(0, +)
            probabilities = probabilities.map { $0 / total }
            if let p = options.topP, p < 1 {
                var cumulative: Float = 0, keep = 0
                while keep < probabilities.count, cumulative < p {
                    cumulative += probabilities[keep]
                    keep += 1
                }
                candidates.removeSubrange(keep...)
                probabilities.removeSubrange(keep...)
                let kept = probabilities.reduce(0, +)
                probabilities = probabilities.map { $0 / kept }
            }
            var threshold = Float(Double(random.next() >> 11) / Double(1 << 53))
            for (candidate, probability) in zip(candidates, probabilities) {
                threshold -= probability
                if threshold <= 0 { return Int32(candidate.index) }
            }
            return Int32(candidates.last!.index)
        }

        /// The `k` largest of `logits[0..<vocabulary] / temperature`, largest first, equal values in
        /// index order. With top-k sampling (k = 20 for Qwen's settings) one pass with a small sorted
        /// buffer replaces sorting the 151,936-entry vocabulary for every token.
        static func largest(_ k: Int, of logits: [Float], vocabulary: Int, dividedBy temperature: Float) -> [(index: Int, logit: Float)] {
            if k >= vocabulary {
                return (0..<vocabulary).map { (index: $0, logit: logits[$0] / temperature) }
                    .sorted { $0.logit > $1.logit || ($0.logit == $1.logit && $0.index < $1.index) }
            }
            var top: [(index: Int, logit: Float)] = []
            top.reserveCapacity(k + 1)
            for index in 0..<vocabulary {
                let logit = logits[index] / temperature
                if top.count == k, !(logit > top[k - 1].logit) { continue }
                var position = top.count
                while position > 0, top[position - 1].logit < logit { position -= 1 }
                top.insert((index, logit), at: position)
                if top.count > k { top.removeLast() }
            }
            return top
        }
    }

    /// A small, seedable random number generator, so sampled runs can be repeated.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
