public import Qwen3VLPrompt
internal import CKernels
import Foundation

extension Qwen3VL {
    /// The vision encoder (`Qwen3VLVisionModel`), the whole forward pass in one readable file:
    /// patch embedding (Conv3d as a matmul) + bilinearly resampled learned positions → depth ×
    /// [LayerNorm → attention (fused qkv, 2D rotary, full attention within each frame) → residual →
    /// LayerNorm → MLP (GELU tanh) → residual], with DeepStack taps after the configured blocks, →
    /// `merger` (LayerNorm per patch, 2×2 merge, fc1, GELU erf, fc2).
    ///
    /// Patches arrive in the image processor's order, which is already merge-window order: every
    /// run of `spatialMergeSize²` consecutive patches is one 2×2 window, so the merge is a reshape.
    public final class VisionTower: Sendable {
        public let config: Configuration.Vision
        /// How the products round their activations.
        public let precision: Precision
        let patchWeight: Weight // [hidden, 3, T, P, P]
        let patchBias: [Float]
        let positionTable: [Float] // [side², hidden]
        let blocks: [Block]
        let merger: Merger
        /// One per `deepstackVisualIndexes` entry, in that order.
        let deepstackMergers: [Merger]
        /// `1 / θ^(2j / (head_dim/2))`, the axial rotary frequencies shared by the h and w halves.
        let inverseFrequencies: [Float]

        static let ropeTheta: Float = 10_000
        static let layerNormEps: Float = 1e-6

        struct Block: Sendable {
            let norm1Weight, norm1Bias, norm2Weight, norm2Bias: [Float]
            let qkvWeight: Weight, qkvBias: [Float] // [3·hidden, hidden]
            let projWeight: Weight, projBias: [Float]
            let fc1Weight: Weight, fc1Bias: [Float] // [intermediate, hidden]
            let fc2Weight: Weight, fc2Bias: [Float]
        }

        struct Merger: Sendable {
            /// True for the DeepStack mergers: LayerNorm over the merged 4·hidden vector; false for the
            /// final merger: LayerNorm over each patch's hidden vector before merging.
            let postShuffleNorm: Bool
            let normWeight, normBias: [Float]
            let fc1Weight: Weight, fc1Bias: [Float] // [4·hidden, 4·hidden]
            let fc2Weight: Weight, fc2Bias: [Float] // [out_hidden, 4·hidden]
        }

        // MARK: Loading

        /// Loads the tower from a model folder; the matrices stay in the folder's mapping (quantized
        /// weights: mapped from the file ``QuantizedStore`` saves next to the checkpoint at the first such
        /// load; the tower is int8 for int4 weights too, and shares int8's file).
        public convenience init(folder: ModelFolder, precision: Precision = .fastest, weights: WeightFormat = .bf16) throws {
            let store = QuantizedStore.vision(folder: folder.url, weights: weights)
            try self.init(config: folder.configuration.vision, precision: precision, weights: weights, store: store) { name, shape in
                Weight(try folder.expect(name, shape: shape))
            }
            store?.save()
        }

        /// Builds the tower from any source of weights: `weight(name, shape)` returns the tensor with
        /// that checkpoint name (`model.visual.…`).
        public convenience init(config c: Configuration.Vision, precision: Precision = .fastest, weights: WeightFormat = .bf16,
                                weight: (String, [Int]) throws -> Weight) throws {
            try self.init(config: c, precision: precision, weights: weights, store: nil, weight: weight)
        }

        /// With `store`, quantized matrices come from (or go into) that saved file.
        init(config c: Configuration.Vision, precision: Precision, weights: WeightFormat, store: QuantizedStore?,
             weight: (String, [Int]) throws -> Weight) throws {
            try precision.checkSupported()
            config = c
            self.precision = precision
            func vector(_ name: String, _ shape: [Int]) throws -> [Float] { try weight("model.visual." + name, shape).floats() }
            func load(_ name: String, _ shape: [Int]) throws -> Weight {
                let loaded = try weight("model.visual." + name, shape)
                guard let quantization = weights.others else { return loaded }
                return store?.quantized("model.visual." + name, loaded, quantization) ?? loaded.quantized(quantization)
            }
            let h = c.hiddenSize, merged = h * c.spatialMergeSize * c.spatialMergeSize
            guard h % c.numHeads == 0, (h / c.numHeads) % 4 == 0 else {
                throw WeightsError(.invalidConfig, "vision hidden_size \(h) does not split into \(c.numHeads) heads with a head size divisible by 4")
            }
            let side = Int(Double(c.numPositionEmbeddings).squareRoot())
            guard side * side == c.numPositionEmbeddings else {
                throw WeightsError(.invalidConfig, "vision num_position_embeddings \(c.numPositionEmbeddings) is not a square")
            }
            patchWeight = try load("patch_embed.proj.weight", [h, 3, c.temporalPatchSize, c.patchSize, c.patchSize])
            patchBias = try vector("patch_embed.proj.bias", [h])
            positionTable = try vector("pos_embed.weight", [c.numPositionEmbeddings, h])
            blocks = try (0..<c.depth).map { i in
                let p = "blocks.\(i)."
                return Block(
                    norm1Weight: try vector(p + "norm1.weight", [h]), norm1Bias: try vector(p + "norm1.bias", [h]),
                    norm2Weight: try vector(p + "norm2.weight", [h]), norm2Bias: try vector(p + "norm2.bias", [h]),
                    qkvWeight: try load(p + "attn.qkv.weight", [3 * h, h]), qkvBias: try vector(p + "attn.qkv.bias", [3 * h]),
                    projWeight: try load(p + "attn.proj.weight", [h, h]), projBias: try vector(p + "attn.proj.bias", [h]),
                    fc1Weight: try load(p + "mlp.linear_fc1.weight", [c.intermediateSize, h]),
                    fc1Bias: try vector(p + "mlp.linear_fc1.bias", [c.intermediateSize]),
                    fc2Weight: try load(p + "mlp.linear_fc2.weight", [h, c.intermediateSize]),
                    fc2Bias: try vector(p + "mlp.linear_fc2.bias", [h]))
            }
            func loadMerger(_ p: String, postShuffle: Bool) throws -> Merger {
                let normWidth = postShuffle ? merged : h
                return Merger(
                    postShuffleNorm: postShuffle,
                    normWeight: try vector(p + "norm.weight", [normWidth]), normBias: try vector(p + "norm.bias", [normWidth]),
                    fc1Weight: try load(p + "linear_fc1.weight", [merged, merged]), fc1Bias: try vector(p + "linear_fc1.bias", [merged]),
                    fc2Weight: try load(p + "linear_fc2.weight", [c.outHiddenSize, merged]),
                    fc2Bias: try vector(p + "linear_fc2.bias", [c.outHiddenSize]))
            }
            merger = try loadMerger("merger.", postShuffle: false)
            deepstackMergers = try c.deepstackVisualIndexes.indices.map { try loadMerger("deepstack_merger_list.\($0).", postShuffle: true) }
            let spatialDim = h / c.numHeads / 2
            inverseFrequencies = stride(from: 0, to: spatialDim, by: 2).map { j in
                1 / Float(pow(Double(Self.ropeTheta), Double(Float(j) / Float(spatialDim))))
            }
        }

        // MARK: Forward

        /// Encodes one image (or video clip): `pixelValues` is the image processor's output,
        /// [t·h·w patches, 3·T·P·P]. Returns the merged features [tokens, out_hidden] and one
        /// [tokens, out_hidden] array per DeepStack tap.
        public func encode(pixelValues: [Float], grid: Grid) -> (features: [Float], deepstack: [[Float]]) {
            let c = config, hidden = c.hiddenSize
            let patchDim = 3 * c.temporalPatchSize * c.patchSize * c.patchSize
            let n = grid.patches
            precondition(pixelValues.count == n * patchDim, "pixelValues has \(pixelValues.count) values, grid \(grid) needs \(n * patchDim)")
            precondition(grid.mergeSize == c.spatialMergeSize, "grid \(grid) was merged by \(grid.mergeSize), the tower merges by \(c.spatialMergeSize)")

            // Patch embedding + resampled learned positions.
            var x = [Float](repeating: 0, count: n * hidden)
            var scratch: [Float] = [] // widened weight blocks
            linear(pixelValues, patchWeight, patchBias, rows: n, into: &x, scratch: &scratch)
            let (rows, cols) = patchCoordinates(grid: grid)
            addPositionEmbeddings(&x, rows: rows, cols: cols, grid: grid)
            let (cos, sin) = rotaryTables(rows: rows, cols: cols)

            var deepstack: [[Float]] = []
            var buffers = BlockBuffers(patches: n, hidden: hidden, intermediate: c.intermediateSize)
            for (index, block) in blocks.enumerated() {
                forward(block, &x, patches: n, frameLength: grid.h * grid.w, cos: cos, sin: sin, buffers: &buffers, scratch: &scratch)
                if let tap = c.deepstackVisualIndexes.firstIndex(of: index) {
                    deepstack.append(merge(x, patches: n, deepstackMergers[tap], scratch: &scratch))
                }
            }
            return (merge(x, patches: n, merger, scratch: &scratch), deepstack)
        }

        /// Row and column of each patch in the processor's order: frame-major, then merge windows in
        /// raster order, then raster order inside the window.
        func patchCoordinates(grid: Grid) -> (rows: [Int], cols: [Int]) {
            let m = config.spatialMergeSize
            var rows: [Int] = [], cols: [Int] = []
            rows.reserveCapacity(grid.t * grid.h * grid.w)
            cols.reserveCapacity(grid.t * grid.h * grid.w)
            for _ in 0..<grid.t {
                for blockRow in 0..<grid.h / m {
                    for blockCol in 0..<grid.w / m {
                        for inRow in 0..<m {
                            for inCol in 0..<m {
                                rows.append(blockRow * m + inRow)
                                cols.append(blockCol * m + inCol)
                            }
                        }
                    }
                }
            }
            return (rows, cols)
        }

        /// The learned square table resampled to the image grid like `F.interpolate(bilinear,
        /// align_corners=True)`: source coordinate `i·(side−1)/(size−1)`, taps floor and floor+1
        /// (clamped to the edge), summed in the reference's tap order (h0w0, h0w1, h1w0, h1w1).
        func addPositionEmbeddings(_ x: inout [Float], rows: [Int], cols: [Int], grid: Grid) {
            let hidden = config.hiddenSize
            let side = Int(Double(config.numPositionEmbeddings).squareRoot())
            func taps(_ index: Int, size: Int) -> ([Int], [Float]) {
                let src = Float(index) * Float(side - 1) / Float(max(size - 1, 1))
                let floor = src.rounded(.down)
                return (0..<2).reduce(into: ([Int](), [Float]())) { result, offset in
                    let tap = Int(floor) + offset
                    result.0.append(min(max(tap, 0), side - 1))
                    result.1.append(max(1 - abs(src - floor - Float(offset)), 0))
                }
            }
            var sum = [Float](repeating: 0, count: hidden)
            for p in rows.indices {
                let (hTaps, hWeights) = taps(rows[p], size: grid.h)
                let (wTaps, wWeights) = taps(cols[p], size: grid.w)
                for j in 0..<hidden { sum[j] = 0 }
                for a in 0..<2 {
                    for b in 0..<2 {
                        let weight = hWeights[a] * wWeights[b]
                        let row = (hTaps[a] * side + wTaps[b]) * hidden
                        for j in 0..<hidden { sum[j] += positionTable[row + j] * weight }
                    }
                }
                for j in 0..<hidden { x[p * hidden + j] += sum[j] }
            }
        }

        /// Per-patch cos/sin over the whole head dimension: `[h·freqs, w·freqs]` repeated twice
        /// (the rotation pairs element i with i + head_dim/2).
        func rotaryTables(rows: [Int], cols: [Int]) -> (cos: [Float], sin: [Float]) {
            let headDim = config.hiddenSize / config.numHeads
            let f = inverseFrequencies.count
            var cos = [Float](repeating: 0, count: rows.count * headDim)
            var sin = cos
            for p in rows.indices {
                for (k, position) in [rows[p], cols[p]].enumerated() {
                    for j in 0..<f {
                        let angle = Float(position) * inverseFrequencies[j]
                        for half in 0..<2 {
                            let slot = p * headDim + half * (headDim / 2) + k * f + j
                            cos[slot] = Foundation.cos(angle)
                            sin[slot] = Foundation.sin(angle)
                        }
                    }
                }
            }
            return (cos, sin)
        }

        /// One block's intermediate arrays, made once per image and used by every block: arrays made
        /// afresh in each block (about 150 MB at 1280×720) were new pages for the kernel to clear every time.
        private struct BlockBuffers {
            var normed, qkv, attended, projected, inner: [Float]

            init(patches n: Int, hidden: Int, intermediate: Int) {
                normed = [Float](repeating: 0, count: n * hidden)
                qkv = [Float](repeating: 0, count: n * 3 * hidden) // per row: [q heads | k heads | v heads]
                attended = normed
                projected = normed
                inner = [Float](repeating: 0, count: n * intermediate)
            }
        }

        private func forward(_ b: Block, _ x: inout [Float], patches n: Int, frameLength: Int, cos: [Float], sin: [Float],
                             buffers: inout BlockBuffers, scratch: inout [Float]) {
            let c = config, hidden = c.hiddenSize, heads = c.numHeads, headDim = hidden / heads
            layerNorm(x, b.norm1Weight, b.norm1Bias, rows: n, width: hidden, into: &buffers.normed)
            linear(buffers.normed, b.qkvWeight, b.qkvBias, rows: n, into: &buffers.qkv, scratch: &scratch)
            // Rotary on q and k (rotate_half over the whole head): the row's 2·heads heads from its start.
            ckernels_rotate_half(&buffers.qkv, n, 3 * hidden, 2 * heads, headDim, cos, sin)
            // Full attention inside each frame: every patch sees every patch of its frame.
            let fused = buffers.qkv.withUnsafeBufferPointer { qkv in
                buffers.attended.withUnsafeMutableBufferPointer { out in
                    stride(from: 0, to: n, by: frameLength).allSatisfy { frame in
                        let queries = qkv.baseAddress! + frame * 3 * hidden
                        return Attention.fused(queries: queries, queryStride: 3 * hidden, count: frameLength, heads: heads, keyValueHeads: heads,
                                               headDim: headDim, keys: queries + hidden, values: queries + 2 * hidden, bf16: false,
                                               products: precision.integerAttention ? .integer : .float32, keyStride: 3 * hidden, keyHeadStride: headDim,
                                               keyCount: frameLength, causalPast: nil, out: out.baseAddress! + frame * hidden, outStride: hidden)
                    }
                }
            }
            if !fused { // no AVX-512: one head at a time through BLAS
                var scores = [Float](repeating: 0, count: Attention.queryBlock * frameLength)
                buffers.qkv.withUnsafeBufferPointer { qkv in
                    buffers.attended.withUnsafeMutableBufferPointer { out in
                        scores.withUnsafeMutableBufferPointer { scores in
                            for frame in stride(from: 0, to: n, by: frameLength) {
                                for h in 0..<heads {
                                    let queries = qkv.baseAddress! + frame * 3 * hidden + h * headDim
                                    Attention.head(queries: queries, queryStride: 3 * hidden, count: frameLength,
                                                   keys: queries + hidden, values: queries + 2 * hidden, keyStride: 3 * hidden,
                                                   keyCount: frameLength, causalPast: nil, headDim: headDim,
                                                   out: out.baseAddress! + frame * hidden + h * headDim, outStride: hidden,
                                                   scores: scores.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
            linear(buffers.attended, b.projWeight, b.projBias, rows: n, into: &buffers.projected, scratch: &scratch)
            ckernels_add(&x, buffers.projected, x.count)

            layerNorm(x, b.norm2Weight, b.norm2Bias, rows: n, width: hidden, into: &buffers.normed)
            linear(buffers.normed, b.fc1Weight, b.fc1Bias, rows: n, into: &buffers.inner, scratch: &scratch)
            activate(&buffers.inner, c.hiddenAct)
            linear(buffers.inner, b.fc2Weight, b.fc2Bias, rows: n, into: &buffers.projected, scratch: &scratch)
            ckernels_add(&x, buffers.projected, x.count)
        }

        /// `Qwen3VLVisionPatchMerger`: groups of `spatialMergeSize²` consecutive patches become one
        /// token; the final merger normalises each patch first, the DeepStack ones the merged vector.
        private func merge(_ x: [Float], patches n: Int, _ mg: Merger, scratch: inout [Float]) -> [Float] {
            let hidden = config.hiddenSize, unit = config.spatialMergeSize * config.spatialMergeSize
            let tokens = n / unit, width = hidden * unit
            var normed = [Float](repeating: 0, count: n * hidden)
            if mg.postShuffleNorm {
                layerNorm(x, mg.normWeight, mg.normBias, rows: tokens, width: width, into: &normed)
            } else {
                layerNorm(x, mg.normWeight, mg.normBias, rows: n, width: hidden, into: &normed)
            }
            var inner = [Float](repeating: 0, count: tokens * width)
            linear(normed, mg.fc1Weight, mg.fc1Bias, rows: tokens, into: &inner, scratch: &scratch)
            activate(&inner, .gelu) // nn.GELU(): the exact (erf) form, whatever hidden_act says
            var out = [Float](repeating: 0, count: tokens * config.outHiddenSize)
            linear(inner, mg.fc2Weight, mg.fc2Bias, rows: tokens, into: &out, scratch: &scratch)
            return out
        }

        // MARK: Kernels

        private func layerNorm(_ x: [Float], _ weight: [Float], _ bias: [Float], rows: Int, width: Int, into out: inout [Float]) {
            ckernels_layer_norm(x, weight, bias, rows, width, Self.layerNormEps, &out)
        }

        private func activate(_ x: inout [Float], _ activation: Activation) {
            switch activation {
            case .geluTanh:
                ckernels_gelu_tanh(&x, x.count)
            case .gelu:
                for i in x.indices { let v = x[i]; x[i] = 0.5 * v * (1 + erff(v * Float(0.7071067811865476))) }
            case .silu:
                for i in x.indices { let v = x[i]; x[i] = v / (1 + expf(-v)) }
            }
        }

        /// `y = x · Wᵀ + b` for `x` [rows, in] and `W` [out, in].
        private func linear(_ x: [Float], _ w: Weight, _ b: [Float], rows: Int, into y: inout [Float], scratch: inout [Float]) {
            w.multiply(x, rows: rows, into: &y, precision: precision, scratch: &scratch)
            ckernels_add_bias(&y, b, rows, w.rows)
        }
    }
}
