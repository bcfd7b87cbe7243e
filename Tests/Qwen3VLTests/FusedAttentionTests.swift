import Foundation
import Testing
import TestSupportCore

@testable import Qwen3VL
import Qwen3VLPrompt

/// The fused attention kernel (tiles of queries against tiles of keys, running softmax) against the
/// per-head path it replaces (scores through sgemm, softmax, scores · V) on random seeded inputs: full
/// attention as in the vision tower, causal prefill after a cached past as in the decoder, grouped
/// KV heads, and the decoder's cache (KV head by KV head, float32 or BF16) read as stored. Partial tiles
/// of queries and keys are in every case.
@Suite("Fused attention equals the per-head path")
struct FusedAttentionTests {
    struct Case: CustomStringConvertible, Sendable {
        let queries, past, heads, keyValueHeads, headDim: Int
        let causal, bf16: Bool
        /// Keys stored head by head, as in the decoder's cache (otherwise all heads of a key side by side).
        var headMajor = false
        /// How the fused kernel multiplies: integer is what bf16 precision runs in the vision tower, BF16
        /// products what it runs in the decoder.
        var products = Qwen3VL.Attention.Products.float32
        var description: String {
            "\(queries) queries\(causal ? " after \(past) cached, causal" : ", full"), \(heads)/\(keyValueHeads) heads of \(headDim)"
                + (bf16 ? ", BF16" : "") + (headMajor ? ", head by head" : "") + (products == .float32 ? "" : ", \(products) products")
        }
    }

    static let cases = [
        Case(queries: 150, past: 0, heads: 4, keyValueHeads: 4, headDim: 64, causal: false, bf16: false),
        Case(queries: 3, past: 0, heads: 2, keyValueHeads: 1, headDim: 16, causal: true, bf16: false),
        Case(queries: 100, past: 37, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: false),
        Case(queries: 100, past: 37, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: false, headMajor: true),
        Case(queries: 70, past: 130, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: true, headMajor: true),
        Case(queries: 150, past: 0, heads: 4, keyValueHeads: 4, headDim: 64, causal: false, bf16: false, products: .integer),
        Case(queries: 100, past: 37, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: false, headMajor: true, products: .integer),
        Case(queries: 70, past: 130, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: true, headMajor: true, products: .integer),
        Case(queries: 70, past: 130, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: true, headMajor: true, products: .bf16),
        Case(queries: 3, past: 0, heads: 2, keyValueHeads: 1, headDim: 16, causal: true, bf16: true, headMajor: true, products: .bf16),
        Case(queries: 150, past: 0, heads: 4, keyValueHeads: 4, headDim: 48, causal: false, bf16: true, products: .bf16),
    ]

    /// How far the fused kernel may be from the per-head float32 path: float32 sums in another order,
    /// or (integer products) scores from queries and keys rounded to 255 levels each. The values lie in
    /// [−1, 1] and the scores spread over several units, so an output is a sharp average of values, and
    /// an integer output's error has a long tail (largest 0.031 over 75 seeds); a wrong layout or scale
    /// is off by tenths everywhere, which the mean catches (largest mean 0.0023 over the same seeds).
    static func bounds(_ c: Case) -> (largest: Float, mean: Float) {
        switch c.products {
        case .integer where Qwen3VL.Precision.bf16.integerAttention: (0.06, 0.005)
        case .bf16 where Qwen3VL.Precision.bf16.isSupported: (0.02, 0.002)
        default: (1e-5, 1e-6)
        }
    }

    /// Seeded random queries, keys and values for a case, and what the per-head path gives for them.
    struct Inputs {
        let keyCount, queryStride, keyStride, headStride: Int
        /// The seed of the inputs (`QWEN_AGENT_TEST_SEED` gives them again).
        let seed: UInt64
        let queries, keys, values: [Float]
        /// The same keys and values as BF16: `keys` and `values` are these widened.
        let keys16, values16: [UInt16]
        let reference: [Float]

        init(_ c: Case) {
            var generator = SeededGenerator()
            let keyCount = c.causal ? c.past + c.queries : c.queries, queryStride = c.heads * c.headDim
            let (keyStride, headStride) = c.headMajor ? (c.headDim, keyCount * c.headDim) : (c.keyValueHeads * c.headDim, c.headDim)
            let queries = (0..<c.queries * queryStride).map { _ in Float.random(in: -3...3, using: &generator) }
            let elements = keyCount * c.keyValueHeads * c.headDim
            let keys16 = (0..<elements).map { _ in UInt16(Float.random(in: -3...3, using: &generator).bitPattern >> 16) }
            let values16 = (0..<elements).map { _ in UInt16(Float.random(in: -1...1, using: &generator).bitPattern >> 16) }
            let keys = keys16.map { Float(bitPattern: UInt32($0) << 16) }, values = values16.map { Float(bitPattern: UInt32($0) << 16) }

            var reference = [Float](repeating: 0, count: c.queries * queryStride)
            var scores = [Float](repeating: 0, count: Qwen3VL.Attention.queryBlock * keyCount)
            queries.withUnsafeBufferPointer { q in
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        reference.withUnsafeMutableBufferPointer { out in
                            scores.withUnsafeMutableBufferPointer { scores in
                                for head in 0..<c.heads {
                                    let kv = head / (c.heads / c.keyValueHeads) * headStride
                                    Qwen3VL.Attention.head(queries: q.baseAddress! + head * c.headDim, queryStride: queryStride, count: c.queries,
                                                           keys: k.baseAddress! + kv, values: v.baseAddress! + kv, keyStride: keyStride,
                                                           keyCount: keyCount, causalPast: c.causal ? c.past : nil, headDim: c.headDim,
                                                           out: out.baseAddress! + head * c.headDim, outStride: queryStride, scores: scores.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
            (self.keyCount, self.queryStride, self.keyStride, self.headStride, seed) = (keyCount, queryStride, keyStride, headStride, generator.seed)
            (self.queries, self.keys, self.values, self.keys16, self.values16, self.reference) = (queries, keys, values, keys16, values16, reference)
        }
    }

    @Test(arguments: cases)
    func matchesPerHeadAttention(_ c: Case) {
        let inputs = Inputs(c)
        var fused = [Float](repeating: .nan, count: c.queries * inputs.queryStride)
        let ran = fused.withUnsafeMutableBufferPointer { out in
            inputs.queries.withUnsafeBufferPointer { q in
                func run(_ k: UnsafeRawPointer, _ v: UnsafeRawPointer) -> Bool {
                    Qwen3VL.Attention.fused(queries: q.baseAddress!, queryStride: inputs.queryStride, count: c.queries, heads: c.heads,
                                            keyValueHeads: c.keyValueHeads, headDim: c.headDim, keys: k, values: v, bf16: c.bf16,
                                            products: c.products, keyStride: inputs.keyStride, keyHeadStride: inputs.headStride, keyCount: inputs.keyCount,
                                            causalPast: c.causal ? c.past : nil, out: out.baseAddress!, outStride: inputs.queryStride)
                }
                return c.bf16
                    ? inputs.keys16.withUnsafeBufferPointer { k in inputs.values16.withUnsafeBufferPointer { v in run(k.baseAddress!, v.baseAddress!) } }
                    : inputs.keys.withUnsafeBufferPointer { k in inputs.values.withUnsafeBufferPointer { v in run(k.baseAddress!, v.baseAddress!) } }
            }
        }
        // The kernel needs AVX-512, which every CPU with AVX512_BF16 has; elsewhere the per-head path runs alone.
        #expect(ran || !Qwen3VL.Precision.bf16.isSupported, "the fused kernel declined on a CPU with AVX-512")
        guard ran else { return }
        let errors = zip(fused, inputs.reference).map { abs($0 - $1) }
        let largest = errors.max() ?? .nan, mean = errors.reduce(0, +) / Float(errors.count), bounds = Self.bounds(c)
        print("fused attention, \(c), seed \(inputs.seed): max |Δ| = \(largest), mean |Δ| = \(mean) (bounds \(bounds.largest), \(bounds.mean))")
        #expect(largest <= bounds.largest && mean <= bounds.mean, "\(c), seed \(inputs.seed)")
    }

    /// Decode: one token's query heads against a BF16 cache, stored head by head as the decoder keeps it
    /// and with all heads of a position side by side; groups of 1–4 query heads per KV head, head
    /// dimensions whose sums fit the registers in one or more chunks, and one the vector path declines.
    @Test(arguments: [
        Case(queries: 1, past: 2046, heads: 16, keyValueHeads: 8, headDim: 128, causal: true, bf16: true, headMajor: true),
        Case(queries: 1, past: 300, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: true, headMajor: false),
        Case(queries: 1, past: 16, heads: 3, keyValueHeads: 3, headDim: 24, causal: true, bf16: true, headMajor: true),
        Case(queries: 1, past: 100, heads: 8, keyValueHeads: 2, headDim: 128, causal: true, bf16: true, headMajor: true),
        Case(queries: 1, past: 50, heads: 3, keyValueHeads: 1, headDim: 64, causal: true, bf16: true, headMajor: true),
    ])
    func decodeMatchesPerHeadAttention(_ c: Case) {
        let inputs = Inputs(c)
        var out = [Float](repeating: .nan, count: inputs.queryStride)
        inputs.keys16.withUnsafeBufferPointer { k in
            inputs.values16.withUnsafeBufferPointer { v in
                Qwen3VL.Attention.decode(query: inputs.queries, heads: c.heads, keyValueHeads: c.keyValueHeads, headDim: c.headDim,
                                         keys: k.baseAddress!, values: v.baseAddress!, keyStride: inputs.keyStride,
                                         keyHeadStride: inputs.headStride, keyCount: inputs.keyCount, products: .float32, out: &out)
            }
        }
        let largest = zip(out, inputs.reference).map { abs($0 - $1) }.max() ?? .nan
        print("decode attention, \(c): max |Δ| = \(largest) (bound 1e-5)")
        #expect(largest <= 1e-5, "\(c)")
    }

    /// With BF16 products, the last token of a prefill and the same token decoded alone against the same
    /// cache get the same output but for float32 sums in another order: the prompt cache computes a
    /// repeated prompt's last token alone. Such a sum can land a probability on the other side of a BF16
    /// rounding now and then, which moves the outputs of that head (up to 8e-5 over 45 seeds), so the
    /// median difference is what is bounded: at most 1.1e-7 over 30 seeds, against at least 2.6e-4
    /// between either and float32, which is where a decoder that did not round as the prefill does would be.
    @Test(arguments: [
        Case(queries: 40, past: 2000, heads: 16, keyValueHeads: 8, headDim: 128, causal: true, bf16: true, headMajor: true, products: .bf16),
        Case(queries: 5, past: 60, heads: 4, keyValueHeads: 1, headDim: 64, causal: true, bf16: true, headMajor: false, products: .bf16),
    ])
    func decodingAloneMatchesThePrefillsLastToken(_ c: Case) throws {
        try #require(Qwen3VL.Precision.bf16.isSupported, "BF16 products need AVX512_BF16")
        let inputs = Inputs(c), last = (c.queries - 1) * inputs.queryStride
        var prefill = [Float](repeating: .nan, count: c.queries * inputs.queryStride), alone = [Float](repeating: .nan, count: inputs.queryStride)
        inputs.keys16.withUnsafeBufferPointer { k in
            inputs.values16.withUnsafeBufferPointer { v in
                inputs.queries.withUnsafeBufferPointer { q in
                    let ran = Qwen3VL.Attention.fused(queries: q.baseAddress!, queryStride: inputs.queryStride, count: c.queries, heads: c.heads,
                                                      keyValueHeads: c.keyValueHeads, headDim: c.headDim, keys: k.baseAddress!, values: v.baseAddress!,
                                                      bf16: true, products: .bf16, keyStride: inputs.keyStride, keyHeadStride: inputs.headStride,
                                                      keyCount: inputs.keyCount, causalPast: c.past, out: &prefill, outStride: inputs.queryStride)
                    #expect(ran)
                    Qwen3VL.Attention.decode(query: q.baseAddress! + last, heads: c.heads, keyValueHeads: c.keyValueHeads, headDim: c.headDim,
                                             keys: k.baseAddress!, values: v.baseAddress!, keyStride: inputs.keyStride,
                                             keyHeadStride: inputs.headStride, keyCount: inputs.keyCount, products: .bf16, out: &alone)
                }
            }
        }
        func median(_ a: [Float], _ b: ArraySlice<Float>) -> Float { zip(a, b).map { abs($0 - $1) }.sorted()[a.count / 2] }
        let apart = median(alone, prefill[last...]), fromFloat32 = median(alone, inputs.reference[last...])
        let largest = zip(alone, prefill[last...]).map { abs($0 - $1) }.max() ?? .nan
        print("BF16 products, \(c), seed \(inputs.seed): decoded alone vs in the prefill median |Δ| = \(apart) (bound 1e-6), max \(largest); vs float32 median \(fromFloat32)")
        #expect(apart <= 1e-6, "\(c), seed \(inputs.seed)")
    }
}
