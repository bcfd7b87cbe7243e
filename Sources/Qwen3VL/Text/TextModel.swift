internal import COpenBLAS
import Foundation

extension Qwen3VL {
    /// The text decoder (`Qwen3VLTextModel` + `lm_head`), the whole forward pass in one readable file:
    /// embedding → N × [RMSNorm → attention (q/k norms, interleaved MRoPE, GQA, KV cache) → residual →
    /// RMSNorm → SwiGLU MLP → residual] → RMSNorm → logits. Matrix work goes to OpenBLAS.
    public final class TextModel {
        public let config: Configuration.Text
        let embedding: [Float] // [vocab, hidden]
        let layers: [Layer]
        let finalNorm: [Float]
        /// Nil when the output projection is tied to the embedding.
        let outputWeight: [Float]?

        struct Layer {
            let inputNorm, postAttentionNorm, queryNorm, keyNorm: [Float]
            let query, key, value, output: [Float] // [out, in]
            let gate, up, down: [Float]
        }

        // MARK: Loading

        /// Loads the language model from a model folder; weights become float32 here (bf16 storage
        /// with conversion on the fly is part of the performance work).
        public convenience init(folder: ModelFolder) throws {
            let tied = folder.configuration.tieWordEmbeddings && !folder.contains("lm_head.weight")
            try self.init(config: folder.configuration.text, tiedOutput: tied) { name, shape in
                try folder.expect(name, shape: shape).floats()
            }
        }

        /// Builds the model from any source of weights: `weight(name, shape)` returns the tensor with
        /// that checkpoint name (`model.language_model.…`, `lm_head.weight`) as float32, row-major.
        public init(config c: Configuration.Text, tiedOutput: Bool, weight: (String, [Int]) throws -> [Float]) throws {
            config = c
            let prefix = "model.language_model."
            func load(_ name: String, _ shape: [Int]) throws -> [Float] { try weight(prefix + name, shape) }
            let q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
            embedding = try load("embed_tokens.weight", [c.vocabSize, c.hiddenSize])
            layers = try (0..<c.numHiddenLayers).map { i in
                let p = "layers.\(i)."
                return Layer(
                    inputNorm: try load(p + "input_layernorm.weight", [c.hiddenSize]),
                    postAttentionNorm: try load(p + "post_attention_layernorm.weight", [c.hiddenSize]),
                    queryNorm: try load(p + "self_attn.q_norm.weight", [c.headDim]),
                    keyNorm: try load(p + "self_attn.k_norm.weight", [c.headDim]),
                    query: try load(p + "self_attn.q_proj.weight", [q, c.hiddenSize]),
                    key: try load(p + "self_attn.k_proj.weight", [kv, c.hiddenSize]),
                    value: try load(p + "self_attn.v_proj.weight", [kv, c.hiddenSize]),
                    output: try load(p + "self_attn.o_proj.weight", [c.hiddenSize, q]),
                    gate: try load(p + "mlp.gate_proj.weight", [c.intermediateSize, c.hiddenSize]),
                    up: try load(p + "mlp.up_proj.weight", [c.intermediateSize, c.hiddenSize]),
                    down: try load(p + "mlp.down_proj.weight", [c.hiddenSize, c.intermediateSize]))
            }
            finalNorm = try load("norm.weight", [c.hiddenSize])
            outputWeight = tiedOutput ? nil : try weight("lm_head.weight", [c.vocabSize, c.hiddenSize])
        }

        // MARK: Forward

        /// Runs `tokens` (with their three position streams, `[t, h, w]` per token) through the model,
        /// appending to `cache`, and returns the logits of the last token, or of every token.
        public func forward(_ tokens: [Int32], positions: [[Int]], cache: KVCache, allLogits: Bool = false) -> [Float] {
            let n = tokens.count, d = config.hiddenSize
            precondition(n > 0 && positions.count == n, "one position triple per token")
            precondition(cache.count + n <= cache.capacity, "the KV cache holds \(cache.capacity) tokens")
            var h = [Float](repeating: 0, count: n * d)
            for (i, token) in tokens.enumerated() {
                let row = Int(token) * d
                for j in 0..<d { h[i * d + j] = embedding[row + j] }
            }
            let rope = rotary(positions)
            for (index, layer) in layers.enumerated() {
                let x = rmsNorm(h, layer.inputNorm, rows: n)
                let attended = attention(x, layer, layer: index, rope: rope, cache: cache, rows: n)
                add(&h, matmul(attended, layer.output, rows: n, out: d, in: config.numAttentionHeads * config.headDim))
                let y = rmsNorm(h, layer.postAttentionNorm, rows: n)
                var gate = matmul(y, layer.gate, rows: n, out: config.intermediateSize, in: d)
                let up = matmul(y, layer.up, rows: n, out: config.intermediateSize, in: d)
                for i in gate.indices { gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i] } // SiLU(gate) ⊙ up
                add(&h, matmul(gate, layer.down, rows: n, out: d, in: config.intermediateSize))
            }
            cache.count += n
            let keep = allLogits ? h : Array(h[(n - 1) * d..<n * d])
            let rows = allLogits ? n : 1
            return matmul(rmsNorm(keep, finalNorm, rows: rows), outputWeight ?? embedding, rows: rows, out: config.vocabSize, in: d)
        }

        /// Attention for `rows` new tokens against the cache: q/k RMSNorm per head, MRoPE, causal, GQA.
        private func attention(_ x: [Float], _ layer: Layer, layer index: Int, rope: (cos: [Float], sin: [Float]),
                               cache: KVCache, rows n: Int) -> [Float] {
            let c = config, hd = c.headDim, heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads
            var q = matmul(x, layer.query, rows: n, out: heads * hd, in: c.hiddenSize)
            var k = matmul(x, layer.key, rows: n, out: kvHeads * hd, in: c.hiddenSize)
            let v = matmul(x, layer.value, rows: n, out: kvHeads * hd, in: c.hiddenSize)
            q = rmsNorm(q, layer.queryNorm, rows: n * heads)
            k = rmsNorm(k, layer.keyNorm, rows: n * kvHeads)
            applyRotary(&q, rope, rows: n, heads: heads)
            applyRotary(&k, rope, rows: n, heads: kvHeads)
            cache.store(layer: index, keys: k, values: v, at: cache.count, rows: n)

            let scale = 1 / Float(hd).squareRoot()
            let group = heads / kvHeads
            var out = [Float](repeating: 0, count: n * heads * hd)
            var scores = [Float](repeating: 0, count: cache.count + n)
            for i in 0..<n {
                let visible = cache.count + i + 1 // causal: the cache so far and this token
                for head in 0..<heads {
                    let kvHead = head / group
                    let query = (i * heads + head) * hd
                    var maximum = -Float.infinity
                    for t in 0..<visible {
                        let key = cache.keyOffset(layer: index, position: t, head: kvHead)
                        var dot: Float = 0
                        for e in 0..<hd { dot += q[query + e] * cache.keys[key + e] }
                        scores[t] = dot * scale
                        maximum = max(maximum, scores[t])
                    }
                    var total: Float = 0
                    for t in 0..<visible {
                        scores[t] = exp(scores[t] - maximum)
                        total += scores[t]
                    }
                    let target = (i * heads + head) * hd
                    for t in 0..<visible {
                        let weight = scores[t] / total, value = cache.keyOffset(layer: index, position: t, head: kvHead)
                        for e in 0..<hd { out[target + e] += weight * cache.values[value + e] }
                    }
                }
            }
            return out
        }

        // MARK: Interleaved MRoPE

        /// cos and sin per token and frequency slot: slot j takes its position from the H stream when
        /// j % 3 == 1 and j < 3·section[1], from W when j % 3 == 2 and j < 3·section[2], else from T.
        private func rotary(_ positions: [[Int]]) -> (cos: [Float], sin: [Float]) {
            let half = config.headDim / 2
            let section = config.mropeSection
            var cosines = [Float](repeating: 0, count: positions.count * half)
            var sines = cosines
            for (i, position) in positions.enumerated() {
                for j in 0..<half {
                    let inverse = 1 / powf(Float(config.ropeTheta), Float(2 * j) / Float(config.headDim))
                    var axis = 0
                    if config.mropeInterleaved {
                        if j % 3 == 1 && j < 3 * section[1] { axis = 1 } else if j % 3 == 2 && j < 3 * section[2] { axis = 2 }
                    } else {
                        axis = j < section[0] ? 0 : j < section[0] + section[1] ? 1 : 2
                    }
                    let angle = Float(position[axis]) * inverse
                    cosines[i * half + j] = cos(angle)
                    sines[i * half + j] = sin(angle)
                }
            }
            return (cosines, sines)
        }

        /// Rotates pairs (d, d + half) of every head (the `rotate_half` layout).
        private func applyRotary(_ x: inout [Float], _ rope: (cos: [Float], sin: [Float]), rows: Int, heads: Int) {
            let hd = config.headDim, half = hd / 2
            for i in 0..<rows {
                for head in 0..<heads {
                    let base = (i * heads + head) * hd
                    for j in 0..<half {
                        let c = rope.cos[i * half + j], s = rope.sin[i * half + j]
                        let a = x[base + j], b = x[base + j + half]
                        x[base + j] = a * c - b * s
                        x[base + j + half] = b * c + a * s
                    }
                }
            }
        }

        // MARK: Kernels

        /// RMSNorm over each row of `width = weight.count` values.
        private func rmsNorm(_ x: [Float], _ weight: [Float], rows: Int) -> [Float] {
            let width = weight.count
            var out = [Float](repeating: 0, count: x.count)
            for r in 0..<rows {
                var sum: Float = 0
                for j in 0..<width { sum += x[r * width + j] * x[r * width + j] }
                let scale = 1 / (sum / Float(width) + Float(config.rmsNormEps)).squareRoot()
                for j in 0..<width { out[r * width + j] = weight[j] * (x[r * width + j] * scale) }
            }
            return out
        }

        /// `x · Wᵀ` for `x` [rows, in] and `W` [out, in] (PyTorch's Linear layout).
        private func matmul(_ x: [Float], _ w: [Float], rows: Int, out: Int, in inner: Int) -> [Float] {
            var y = [Float](repeating: 0, count: rows * out)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(out), Int32(inner), 1, x, Int32(inner), w,
                        Int32(inner), 0, &y, Int32(out))
            return y
        }

        private func add(_ h: inout [Float], _ delta: [Float]) {
            for i in h.indices { h[i] += delta[i] }
        }
    }

    /// Keys and values of every layer for the tokens seen so far, in one contiguous buffer per kind.
    public final class KVCache {
        public let capacity: Int
        /// Tokens stored.
        public internal(set) var count = 0
        var keys: [Float]
        var values: [Float]
        private let layerStride: Int
        private let positionStride: Int
        private let headDim: Int

        public init(config: Configuration.Text, capacity: Int) {
            self.capacity = capacity
            headDim = config.headDim
            positionStride = config.numKeyValueHeads * config.headDim
            layerStride = capacity * positionStride
            keys = [Float](repeating: 0, count: config.numHiddenLayers * layerStride)
            values = keys
        }

        func keyOffset(layer: Int, position: Int, head: Int) -> Int {
            layer * layerStride + position * positionStride + head * headDim
        }

        func store(layer: Int, keys k: [Float], values v: [Float], at start: Int, rows: Int) {
            let base = layer * layerStride + start * positionStride
            for i in 0..<(rows * positionStride) {
                keys[base + i] = k[i]
                values[base + i] = v[i]
            }
        }
    }
}
