public import Qwen3VLPrompt
internal import CKernels
import Foundation

extension Qwen3VL {
    /// The text decoder (`Qwen3VLTextModel` + `lm_head`), the whole forward pass in one readable file:
    /// embedding → N × [RMSNorm → attention (q/k norms, interleaved MRoPE, GQA, KV cache) → residual →
    /// RMSNorm → SwiGLU MLP → residual] → RMSNorm → logits. Matrix work goes to OpenBLAS.
    public final class TextModel: Sendable {
        public let config: Configuration.Text
        /// `<|image_pad|>` (the configuration's `image_token_id`): the tokens whose embedding is a vision row.
        public let imagePad: Int32
        /// How products round their activations, and the KV cache's element type (``PromptCache``'s).
        public let precision: Precision
        public let weightFormat: WeightFormat
        let embedding: Weight // [vocab, hidden], as stored: rows are looked up
        let layers: [Layer]
        let finalNorm: [Float]
        /// `lm_head`: the embedding when tied (quantized apart from it, in int8, for int8 and int4 weights).
        let output: Weight
        /// `1 / θ^(2j / head_dim)` for each frequency slot j, in float32 as transformers computes it.
        let inverseFrequencies: [Float]

        struct Layer: Sendable {
            let inputNorm, postAttentionNorm, queryNorm, keyNorm: [Float]
            let query, key, value, output: Weight // [out, in]
            let gate, up, down: Weight
        }

        // MARK: Loading

        /// Loads the language model from a model folder; the matrices stay in the folder's mapping (int8
        /// and int4 weights: mapped from the file ``QuantizedStore`` saves next to the checkpoint at the
        /// first such load).
        public convenience init(folder: ModelFolder, precision: Precision = .fastest, weights: WeightFormat = .bf16) throws {
            let tied = folder.configuration.tieWordEmbeddings && !folder.contains("lm_head.weight")
            let store = QuantizedStore.text(folder: folder.url, weights: weights)
            try self.init(config: folder.configuration.text, imagePad: Int32(folder.configuration.imageTokenID), tiedOutput: tied,
                          precision: precision, weights: weights, store: store) { name, shape in
                Weight(try folder.expect(name, shape: shape))
            }
            store?.save()
        }

        /// Builds the model from any source of weights: `weight(name, shape)` returns the tensor with
        /// that checkpoint name (`model.language_model.…`, `lm_head.weight`). Throws for a precision
        /// this CPU does not support.
        public convenience init(config c: Configuration.Text, imagePad: Int32, tiedOutput: Bool, precision: Precision = .fastest,
                                weights: WeightFormat = .bf16, weight: (String, [Int]) throws -> Weight) throws {
            try self.init(config: c, imagePad: imagePad, tiedOutput: tiedOutput, precision: precision, weights: weights, store: nil, weight: weight)
        }

        /// With `store`, quantized matrices come from (or go into) that saved file.
        init(config c: Configuration.Text, imagePad: Int32, tiedOutput: Bool, precision: Precision, weights: WeightFormat,
             store: QuantizedStore?, weight: (String, [Int]) throws -> Weight) throws {
            try precision.checkSupported()
            config = c
            self.imagePad = imagePad
            self.precision = precision
            weightFormat = weights
            let prefix = "model.language_model."
            func vector(_ name: String, _ count: Int) throws -> [Float] { try weight(prefix + name, [count]).floats() }
            func quantized(_ name: String, _ loaded: Weight, _ quantization: Weight.Quantization?) -> Weight {
                guard let quantization else { return loaded }
                return store?.quantized(name, loaded, quantization) ?? loaded.quantized(quantization)
            }
            func load(_ name: String, _ shape: [Int]) throws -> Weight {
                try quantized(prefix + name, weight(prefix + name, shape), weights.layers)
            }
            let q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
            embedding = try weight(prefix + "embed_tokens.weight", [c.vocabSize, c.hiddenSize])
            layers = try (0..<c.numHiddenLayers).map { i in
                let p = "layers.\(i)."
                return Layer(
                    inputNorm: try vector(p + "input_layernorm.weight", c.hiddenSize),
                    postAttentionNorm: try vector(p + "post_attention_layernorm.weight", c.hiddenSize),
                    queryNorm: try vector(p + "self_attn.q_norm.weight", c.headDim),
                    keyNorm: try vector(p + "self_attn.k_norm.weight", c.headDim),
                    query: try load(p + "self_attn.q_proj.weight", [q, c.hiddenSize]),
                    key: try load(p + "self_attn.k_proj.weight", [kv, c.hiddenSize]),
                    value: try load(p + "self_attn.v_proj.weight", [kv, c.hiddenSize]),
                    output: try load(p + "self_attn.o_proj.weight", [c.hiddenSize, q]),
                    gate: try load(p + "mlp.gate_proj.weight", [c.intermediateSize, c.hiddenSize]),
                    up: try load(p + "mlp.up_proj.weight", [c.intermediateSize, c.hiddenSize]),
                    down: try load(p + "mlp.down_proj.weight", [c.hiddenSize, c.intermediateSize]))
            }
            finalNorm = try vector("norm.weight", c.hiddenSize)
            if tiedOutput {
                output = quantized("lm_head.weight", embedding, weights.others)
            } else {
                output = try quantized("lm_head.weight", weight("lm_head.weight", [c.vocabSize, c.hiddenSize]), weights.others)
            }
            inverseFrequencies = (0..<c.headDim / 2).map { j in 1 / powf(Float(c.ropeTheta), Float(2 * j) / Float(c.headDim)) }
        }

        // MARK: Forward

        /// Runs `tokens` (with their three position streams, `[t, h, w]` per token) through the model,
        /// appending to `cache`, and leaves the logits of the last token (or of every token) in
        /// `workspace.logits`. Buffers grow only when more tokens come at once than before: decoding
        /// one token at a time allocates nothing.
        public func forward(_ tokens: [Int32], positions: [[Int]], cache: KVCache, workspace w: Workspace, visual: VisualInput? = nil,
                            allLogits: Bool = false) {
            let n = tokens.count, d = config.hiddenSize
            precondition(n > 0 && positions.count == n, "one position triple per token")
            precondition(cache.count + n <= cache.capacity, "the KV cache holds \(cache.capacity) tokens")
            w.reserve(rows: n, context: cache.capacity, logitsRows: allLogits ? n : 1)
            // Image pads take the vision tower's rows instead of their embedding, in order.
            let imageRows = visual == nil ? [] : tokens.indices.filter { tokens[$0] == imagePad }
            if let visual { precondition(visual.embeddings.count == imageRows.count * d, "one visual row per <|image_pad|>") }
            var nextImageRow = 0
            for (i, token) in tokens.enumerated() {
                if let visual, token == imagePad {
                    for j in 0..<d { w.h[i * d + j] = visual.embeddings[nextImageRow * d + j] }
                    nextImageRow += 1
                } else {
                    w.h.withUnsafeMutableBufferPointer { embedding.copyRow(Int(token), to: $0.baseAddress! + i * d) }
                }
            }
            rotary(positions, into: w)
            for (index, layer) in layers.enumerated() {
                rmsNorm(w.h, layer.inputNorm, rows: n, into: &w.x)
                attention(layer, layer: index, cache: cache, workspace: w, rows: n)
                layer.output.multiply(w.attended, rows: n, into: &w.projected, precision: precision, scratch: &w.widened)
                ckernels_add(&w.h, w.projected, n * d)
                rmsNorm(w.h, layer.postAttentionNorm, rows: n, into: &w.x)
                let fused = n == 1 && w.gate.withUnsafeMutableBufferPointer { gate in
                    w.up.withUnsafeMutableBufferPointer { up in
                        Weight.multiply([layer.gate, layer.up], vector: w.x, into: [gate.baseAddress!, up.baseAddress!], precision: precision)
                    }
                }
                if !fused {
                    layer.gate.multiply(w.x, rows: n, into: &w.gate, precision: precision, scratch: &w.widened)
                    layer.up.multiply(w.x, rows: n, into: &w.up, precision: precision, scratch: &w.widened)
                }
                ckernels_silu_mul(&w.gate, w.up, n * config.intermediateSize) // SiLU(gate) ⊙ up
                layer.down.multiply(w.gate, rows: n, into: &w.projected, precision: precision, scratch: &w.widened)
                ckernels_add(&w.h, w.projected, n * d)
                // DeepStack: the vision tower's intermediate features join after the first layers.
                if let visual, index < visual.deepstack.count {
                    for (k, row) in imageRows.enumerated() {
                        for j in 0..<d { w.h[row * d + j] += visual.deepstack[index][k * d + j] }
                    }
                }
            }
            cache.count += n
            let first = allLogits ? 0 : n - 1, rows = n - first
            for i in 0..<rows * d { w.projected[i] = w.h[first * d + i] }
            rmsNorm(w.projected, finalNorm, rows: rows, into: &w.x)
            output.multiply(w.x, rows: rows, into: &w.logits, precision: precision, scratch: &w.widened)
        }

        /// Attention for `rows` new tokens against the cache: q/k RMSNorm per head, MRoPE, causal, GQA.
        private func attention(_ layer: Layer, layer index: Int, cache: KVCache, workspace w: Workspace, rows n: Int) {
            let c = config, hd = c.headDim, heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads
            // Decode: the three products as one job over the cores (the BF16 and int8 kernels).
            let fused = n == 1 && w.q.withUnsafeMutableBufferPointer { q in
                w.k.withUnsafeMutableBufferPointer { k in
                    w.v.withUnsafeMutableBufferPointer { v in
                        Weight.multiply([layer.query, layer.key, layer.value], vector: w.x, into: [q.baseAddress!, k.baseAddress!, v.baseAddress!],
                                        precision: precision)
                    }
                }
            }
            if !fused {
                layer.query.multiply(w.x, rows: n, into: &w.q, precision: precision, scratch: &w.widened)
                layer.key.multiply(w.x, rows: n, into: &w.k, precision: precision, scratch: &w.widened)
                layer.value.multiply(w.x, rows: n, into: &w.v, precision: precision, scratch: &w.widened)
            }
            rmsNormInPlace(&w.q, layer.queryNorm, rows: n * heads)
            rmsNormInPlace(&w.k, layer.keyNorm, rows: n * kvHeads)
            applyRotary(&w.q, w, rows: n, heads: heads)
            applyRotary(&w.k, w, rows: n, heads: kvHeads)
            cache.store(layer: index, keys: w.k, values: w.v, at: cache.count, rows: n)

            // Each head against the cache, which now holds this batch too; GQA: heads share KV heads in groups.
            let group = heads / kvHeads, queryStride = heads * hd, keyCount = cache.count + n
            if cache.precision == .bf16 && n == 1 {
                let layerStart = cache.offset(layer: index, head: 0)
                w.attended.withUnsafeMutableBufferPointer { out in
                    Attention.decode(query: w.q, heads: heads, keyValueHeads: kvHeads, headDim: hd, keys: cache.keys16.base + layerStart,
                                     values: cache.values16.base + layerStart, keyStride: hd, keyHeadStride: cache.headStride,
                                     keyCount: keyCount, products: precision.bf16Attention ? .bf16 : .float32, out: out.baseAddress!)
                }
                return
            }
            // Prefill: all heads at once through the fused kernel, reading the cache as stored.
            if n > 1 && prefillFused(cache: cache, layer: index, workspace: w, rows: n) { return }
            for kvHead in 0..<kvHeads {
                let kvOffset = cache.offset(layer: index, head: kvHead)
                // A BF16 cache's head is widened once for the batch's queries (prefill).
                if cache.precision == .bf16 {
                    cache.widen(cache.keys16, from: kvOffset, count: keyCount, into: &w.wideKeys)
                    cache.widen(cache.values16, from: kvOffset, count: keyCount, into: &w.wideValues)
                }
                w.wideKeys.withUnsafeBufferPointer { wideKeys in
                    w.wideValues.withUnsafeBufferPointer { wideValues in
                        let (keys, values) = cache.precision == .f32
                            ? (UnsafePointer(cache.keys.base + kvOffset), UnsafePointer(cache.values.base + kvOffset))
                            : (wideKeys.baseAddress!, wideValues.baseAddress!)
                        w.q.withUnsafeBufferPointer { queries in
                            w.attended.withUnsafeMutableBufferPointer { out in
                                w.scores.withUnsafeMutableBufferPointer { scores in
                                    for head in kvHead * group..<(kvHead + 1) * group {
                                        Attention.head(queries: queries.baseAddress! + head * hd, queryStride: queryStride, count: n,
                                                       keys: keys, values: values, keyStride: hd, keyCount: keyCount, causalPast: cache.count,
                                                       headDim: hd, out: out.baseAddress! + head * hd, outStride: queryStride,
                                                       scores: scores.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        /// The batch's queries against the layer's cache (which holds the batch too) through
        /// ``Attention/fused(queries:queryStride:count:heads:keyValueHeads:headDim:keys:values:bf16:products:keyStride:keyHeadStride:keyCount:causalPast:out:outStride:)``,
        /// in BF16 products where ``Precision/bf16Attention`` and otherwise float32, never integer:
        /// integer products quantize the keys and values of the whole call together, so a prompt would
        /// get other logits when the prompt cache splits it differently (and its last token, alone, goes
        /// through decode attention).
        private func prefillFused(cache: KVCache, layer index: Int, workspace w: Workspace, rows n: Int) -> Bool {
            let c = config, hd = c.headDim, heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads
            let layerStart = cache.offset(layer: index, head: 0)
            func run(_ keys: UnsafeRawPointer, _ values: UnsafeRawPointer) -> Bool {
                w.q.withUnsafeBufferPointer { q in
                    w.attended.withUnsafeMutableBufferPointer { out in
                        Attention.fused(queries: q.baseAddress!, queryStride: heads * hd, count: n, heads: heads, keyValueHeads: kvHeads,
                                        headDim: hd, keys: keys, values: values, bf16: cache.precision == .bf16,
                                        products: cache.precision == .bf16 && precision.bf16Attention ? .bf16 : .float32, keyStride: hd,
                                        keyHeadStride: cache.headStride, keyCount: cache.count + n, causalPast: cache.count, out: out.baseAddress!, outStride: heads * hd)
                    }
                }
            }
            switch cache.precision {
            case .f32: return run(cache.keys.base + layerStart, cache.values.base + layerStart)
            case .bf16: return run(cache.keys16.base + layerStart, cache.values16.base + layerStart)
            }
        }

        // MARK: Interleaved MRoPE

        /// cos and sin per token and frequency slot: slot j takes its position from the H stream when
        /// j % 3 == 1 and j < 3·section[1], from W when j % 3 == 2 and j < 3·section[2], else from T.
        private func rotary(_ positions: [[Int]], into w: Workspace) {
            let half = config.headDim / 2
            let section = config.mropeSection
            for (i, position) in positions.enumerated() {
                for j in 0..<half {
                    var axis = 0
                    if config.mropeInterleaved {
                        if j % 3 == 1 && j < 3 * section[1] { axis = 1 } else if j % 3 == 2 && j < 3 * section[2] { axis = 2 }
                    } else {
                        axis = j < section[0] ? 0 : j < section[0] + section[1] ? 1 : 2
                    }
                    let angle = Float(position[axis]) * inverseFrequencies[j]
                    w.cos[i * half + j] = cos(angle)
                    w.sin[i * half + j] = sin(angle)
                }
            }
        }

        /// Rotates pairs (d, d + half) of every head (the `rotate_half` layout).
        private func applyRotary(_ x: inout [Float], _ w: Workspace, rows: Int, heads: Int) {
            let hd = config.headDim, half = hd / 2
            for i in 0..<rows {
                for head in 0..<heads {
                    let base = (i * heads + head) * hd
                    for j in 0..<half {
                        let c = w.cos[i * half + j], s = w.sin[i * half + j]
                        let a = x[base + j], b = x[base + j + half]
                        x[base + j] = a * c - b * s
                        x[base + j + half] = b * c + a * s
                    }
                }
            }
        }

        // MARK: Kernels

        /// RMSNorm over each row of `width = weight.count` values.
        private func rmsNorm(_ x: [Float], _ weight: [Float], rows: Int, into out: inout [Float]) {
            x.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { out in rmsNorm(x.baseAddress!, weight, rows: rows, into: out.baseAddress!) }
            }
        }

        /// RMSNorm of each row of `x` in place (the q and k heads).
        private func rmsNormInPlace(_ x: inout [Float], _ weight: [Float], rows: Int) {
            x.withUnsafeMutableBufferPointer { x in rmsNorm(x.baseAddress!, weight, rows: rows, into: x.baseAddress!) }
        }

        /// `out` may be `x`: each row's values are read before it is written.
        private func rmsNorm(_ x: UnsafePointer<Float>, _ weight: [Float], rows: Int, into out: UnsafeMutablePointer<Float>) {
            ckernels_rms_norm(x, weight, rows, weight.count, Float(config.rmsNormEps), out)
        }
    }

    /// Scratch buffers for a forward pass, sized once for the longest batch of tokens seen.
    public final class Workspace {
        let config: Configuration.Text
        var rows = 0, context = 0, logitsRows = 0
        var h: [Float] = [], x: [Float] = [], q: [Float] = [], k: [Float] = [], v: [Float] = []
        var attended: [Float] = [], projected: [Float] = [], gate: [Float] = [], up: [Float] = []
        var scores: [Float] = [], cos: [Float] = [], sin: [Float] = []
        /// One KV head of a BF16 cache widened for prefill attention.
        var wideKeys: [Float] = [], wideValues: [Float] = []
        /// Blocks of BF16/F16 weights widened for a product (``Weight/multiply(_:rows:into:accumulate:scratch:)``).
        var widened: [Float] = []
        /// The logits of the last forward pass: `vocab_size` per kept token.
        public internal(set) var logits: [Float] = []

        public init(config: Configuration.Text) { self.config = config }

        /// Grows the buffers for `rows` tokens at once, a context of `context` tokens and `logitsRows` rows of logits.
        func reserve(rows newRows: Int, context newContext: Int, logitsRows newLogits: Int) {
            let c = config
            if newRows > rows {
                rows = newRows
                let wide = max(c.hiddenSize, c.numAttentionHeads * c.headDim, c.numKeyValueHeads * c.headDim)
                h = [Float](repeating: 0, count: rows * c.hiddenSize)
                x = [Float](repeating: 0, count: rows * wide)
                q = [Float](repeating: 0, count: rows * c.numAttentionHeads * c.headDim)
                k = [Float](repeating: 0, count: rows * c.numKeyValueHeads * c.headDim)
                v = k
                attended = q
                projected = [Float](repeating: 0, count: rows * wide)
                gate = [Float](repeating: 0, count: rows * c.intermediateSize)
                up = gate
                cos = [Float](repeating: 0, count: rows * c.headDim / 2)
                sin = cos
            }
            if newContext > context {
                context = newContext
                scores = [Float](repeating: 0, count: Attention.queryBlock * context)
            }
            if newLogits > logitsRows || logits.isEmpty {
                logitsRows = max(newLogits, logitsRows)
                logits = [Float](repeating: 0, count: logitsRows * c.vocabSize)
            }
        }
    }

    /// Keys and values of every layer for the tokens seen so far, in one contiguous buffer per kind:
    /// float32 (`keys`, `values`) in `f32` precision, BF16 (`keys16`, `values16`: half the memory and
    /// half the bytes decode attention reads) in `bf16`. Within a layer the cache is stored KV head by KV
    /// head, each head's positions one after another, so attention reads a head as one stream. Room for
    /// positions not yet stored takes no memory (``ZeroPages``).
    public final class KVCache {
        public let capacity: Int
        public let precision: Precision
        /// Tokens stored.
        public internal(set) var count = 0
        let keys: ZeroPages<Float>, values: ZeroPages<Float>
        let keys16: ZeroPages<UInt16>, values16: ZeroPages<UInt16>
        /// Elements from one KV head's positions to the next head's (`capacity · headDim`).
        let headStride: Int
        private let config: Configuration.Text
        private let layerStride: Int
        private let headDim: Int

        public init(config: Configuration.Text, capacity: Int, precision: Precision = .f32) {
            self.config = config
            self.capacity = capacity
            self.precision = precision
            headDim = config.headDim
            headStride = capacity * config.headDim
            layerStride = config.numKeyValueHeads * headStride
            let elements = config.numHiddenLayers * layerStride
            keys = ZeroPages(count: precision == .f32 ? elements : 0)
            values = ZeroPages(count: precision == .f32 ? elements : 0)
            keys16 = ZeroPages(count: precision == .bf16 ? elements : 0)
            values16 = ZeroPages(count: precision == .bf16 ? elements : 0)
        }

        /// Bytes of the keys and values stored.
        public var byteCount: Int { byteCount(tokens: count) }

        /// Bytes of the keys and values of `tokens` positions.
        func byteCount(tokens: Int) -> Int {
            tokens * config.numHiddenLayers * config.numKeyValueHeads * headDim * 2 * (precision == .f32 ? 4 : 2)
        }

        /// Where position 0 of a layer's KV head is.
        func offset(layer: Int, head: Int) -> Int { layer * layerStride + head * headStride }

        /// A cache of another capacity holding this one's first `count` tokens.
        func resized(to newCapacity: Int) -> KVCache {
            let copy = KVCache(config: config, capacity: newCapacity, precision: precision)
            copy.count = min(count, newCapacity)
            let kept = copy.count * headDim
            for layer in 0..<config.numHiddenLayers {
                for head in 0..<config.numKeyValueHeads {
                    let from = offset(layer: layer, head: head), to = copy.offset(layer: layer, head: head)
                    switch precision {
                    case .f32:
                        (copy.keys.base + to).update(from: keys.base + from, count: kept)
                        (copy.values.base + to).update(from: values.base + from, count: kept)
                    case .bf16:
                        (copy.keys16.base + to).update(from: keys16.base + from, count: kept)
                        (copy.values16.base + to).update(from: values16.base + from, count: kept)
                    }
                }
            }
            return copy
        }

        /// `rows` tokens' keys and values (all KV heads of a token side by side, as the projections give
        /// them) into positions `start...` of a layer.
        func store(layer: Int, keys k: [Float], values v: [Float], at start: Int, rows: Int) {
            let heads = config.numKeyValueHeads
            func scatter<Element>(_ source: [Float], into cache: ZeroPages<Element>, _ copy: (UnsafePointer<Float>, UnsafeMutablePointer<Element>, Int) -> Void) {
                source.withUnsafeBufferPointer { source in
                    for head in 0..<heads {
                        let to = cache.base + offset(layer: layer, head: head) + start * headDim
                        for row in 0..<rows { copy(source.baseAddress! + (row * heads + head) * headDim, to + row * headDim, headDim) }
                    }
                }
            }
            switch precision {
            case .f32:
                scatter(k, into: keys) { $1.update(from: $0, count: $2) }
                scatter(v, into: values) { $1.update(from: $0, count: $2) }
            case .bf16:
                scatter(k, into: keys16) { ckernels_narrow_bf16($0, $1, $2) }
                scatter(v, into: values16) { ckernels_narrow_bf16($0, $1, $2) }
            }
        }

        /// `count` positions of one KV head of a BF16 cache (`half`, starting at `offset`) widened into
        /// `buffer`, `headDim` floats per position.
        func widen(_ half: ZeroPages<UInt16>, from offset: Int, count: Int, into buffer: inout [Float]) {
            if buffer.count < count * headDim { buffer = [Float](repeating: 0, count: count * headDim) }
            buffer.withUnsafeMutableBufferPointer { ckernels_widen_bf16(half.base + offset, $0.baseAddress!, count * headDim) }
        }
    }
}
