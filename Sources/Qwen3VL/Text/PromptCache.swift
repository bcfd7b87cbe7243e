public import Qwen3VLPrompt
extension Qwen3VL {
    /// The KV cache of the previous generation, kept so the next prompt computes only what changed.
    ///
    /// Consecutive agent steps send the same system prompt, task and earlier turns, then something
    /// new. Everything a token's keys and values depend on (the tokens before it, their images and
    /// their MRoPE positions, which `positionIDs` derives from the tokens before) is the same for a
    /// common prefix, so its cache entries are exact, not approximate. Image pads are compared by the
    /// identity of their image, since two screenshots of the same size have the same pad tokens.
    ///
    /// One generation at a time: the owner serialises its use.
    public final class PromptCache {
        let model: TextModel
        private(set) var cache: KVCache
        let workspace: Workspace
        /// What each cached position holds, in order: exactly the tokens whose keys and values are in `cache`.
        private(set) var entries: [Entry] = []
        private var nextAnonymousImage = -1
        /// Tokens of the last prompt that were taken from the cache instead of computed.
        public private(set) var reusedTokens = 0
        /// Tokens the cache has room for now; it grows as a reply needs.
        public var capacity: Int { cache.capacity }
        /// The logits of the last token the model ran (after a prefill: the prompt's last position).
        public var logits: [Float] { workspace.logits }
        /// Whether its cached positions begin with `tokens` (text tokens: no image pads).
        public func begins(with tokens: some Collection<Int32>) -> Bool {
            entries.count >= tokens.count && zip(entries, tokens).allSatisfy { $0.token == $1 && $0.image == nil }
        }
        /// Bytes of the keys and values it holds (room for more takes no memory).
        public var kvCacheBytes: Int { cache.byteCount }

        /// A cached position: its token and, for an `<|image_pad|>`, which image it belongs to.
        struct Entry: Equatable {
            let token: Int32
            let image: Int?
        }

        public init(model: TextModel, growth: Int = 4096) {
            precondition(growth > 0, "the cache must grow by at least one token")
            self.model = model
            self.growth = growth
            cache = KVCache(config: model.config, capacity: 0, precision: model.precision)
            workspace = Workspace(config: model.config)
        }

        /// Tokens of room added when the cache grows. Room takes address space but no memory until a
        /// token is stored (``ZeroPages``), and growing copies the whole cache, so the default leaves room
        /// for a reply and the next agent step's screenshot (about 1,000 tokens at 1280×720).
        public let growth: Int

        /// Makes the cache hold the longest reusable prefix of `prompt` with room for the prompt and
        /// returns where computing must start: the caller then runs the model over the rest of the
        /// prompt. `imageKeys` identify the images in order (equal keys: the same picture); images
        /// without a key never match.
        func prepare(for prompt: [Int32], imageGrids: [Grid], imageKeys: [Int]?) -> Int {
            let wanted = entries(for: prompt, imageGrids: imageGrids, imageKeys: imageKeys)
            var common = zip(entries, wanted).prefix { $0 == $1 }.count
            // At least the last token is computed, for its logits; and an image is computed whole,
            // because the visual and DeepStack rows given with the rest start at a run's first pad.
            common = min(common, prompt.count - 1)
            while common > 0, let image = wanted[common].image, wanted[common - 1].image == image { common -= 1 }
            cache.count = common
            if cache.capacity < prompt.count + 1 { cache = cache.resized(to: prompt.count + growth) }
            entries = wanted
            reusedTokens = common
            return common
        }

        /// Makes room for one more token, growing the cache by `growth` tokens when it is full.
        func reserveNextToken() {
            if cache.count == cache.capacity { cache = cache.resized(to: cache.capacity + growth) }
        }

        /// Records a decoded token the model just appended to the cache.
        func append(generated token: Int32) { entries.append(Entry(token: token, image: nil)) }

        private func entries(for prompt: [Int32], imageGrids: [Grid], imageKeys: [Int]?) -> [Entry] {
            var result: [Entry] = []
            result.reserveCapacity(prompt.count)
            var image = 0, left = 0, key: Int?
            for token in prompt {
                guard token == model.imagePad else {
                    result.append(Entry(token: token, image: nil))
                    continue
                }
                if left == 0, image < imageGrids.count {
                    left = imageGrids[image].tokens
                    if let imageKeys, image < imageKeys.count {
                        key = imageKeys[image]
                    } else {
                        key = nextAnonymousImage
                        nextAnonymousImage -= 1
                    }
                    image += 1
                }
                left -= 1
                result.append(Entry(token: token, image: key))
            }
            return result
        }
    }
}
