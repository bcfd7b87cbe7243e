import Foundation
import Testing
import TestSupportCore

@testable import Qwen3VL
import Qwen3VLPrompt

/// The fused attention kernel (tiles of queries against tiles of keys, running softmax) against the
/// per-head path it replaces (scores through sgemm, softmax, scores · V) on random seeded inputs: full
/// attention as in the vision tower, causal prefill after a cached past as in the decoder, grouped
/// KV heads, and a BF16 cache read as stored. Partial tiles of queries and keys are in every case.
@Suite("Fused attention equals the per-head path")
struct FusedAttentionTests {
    struct Case: CustomStringConvertible, Sendable {
        let queries, past, heads, keyValueHeads, headDim: Int
        let causal, bf16: Bool
        var description: String {
            "\(queries) queries\(causal ? " after \(past) cached, causal" : ", full"), \(heads)/\(keyValueHeads) heads of \(headDim)\(bf16 ? ", BF16 cache" : "")"
        }
    }

    static let cases = [
        Case(queries: 150, past: 0, heads: 4, keyValueHeads: 4, headDim: 64, causal: false, bf16: false),
        Case(queries: 3, past: 0, heads: 2, keyValueHeads: 1, headDim: 16, causal: true, bf16: false),
        Case(queries: 100, past: 37, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: false),
        Case(queries: 70, past: 130, heads: 4, keyValueHeads: 2, headDim: 128, causal: true, bf16: true),
    ]

    @Test(arguments: cases)
    func matchesPerHeadAttention(_ c: Case) {
        var generator = SeededGenerator()
        let keyCount = c.causal ? c.past + c.queries : c.queries
        let queryStride = c.heads * c.headDim, keyStride = c.keyValueHeads * c.headDim
        let queries = (0..<c.queries * queryStride).map { _ in Float.random(in: -3...3, using: &generator) }
        // BF16 values are the top halves of float32 ones; the reference reads them widened.
        let keys16 = (0..<keyCount * keyStride).map { _ in UInt16(Float.random(in: -3...3, using: &generator).bitPattern >> 16) }
        let values16 = (0..<keyCount * keyStride).map { _ in UInt16(Float.random(in: -1...1, using: &generator).bitPattern >> 16) }
        let keys = keys16.map { Float(bitPattern: UInt32($0) << 16) }, values = values16.map { Float(bitPattern: UInt32($0) << 16) }

        var reference = [Float](repeating: 0, count: c.queries * queryStride)
        var scores = [Float](repeating: 0, count: Qwen3VL.Attention.queryBlock * keyCount)
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    reference.withUnsafeMutableBufferPointer { out in
                        scores.withUnsafeMutableBufferPointer { scores in
                            for head in 0..<c.heads {
                                let kv = head / (c.heads / c.keyValueHeads) * c.headDim
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

        var fused = [Float](repeating: .nan, count: c.queries * queryStride)
        let ran = fused.withUnsafeMutableBufferPointer { out in
            queries.withUnsafeBufferPointer { q in
                func run(_ k: UnsafeRawPointer, _ v: UnsafeRawPointer) -> Bool {
                    Qwen3VL.Attention.fused(queries: q.baseAddress!, queryStride: queryStride, count: c.queries, heads: c.heads,
                                            keyValueHeads: c.keyValueHeads, headDim: c.headDim, keys: k, values: v, bf16: c.bf16,
                                            keyStride: keyStride, keyCount: keyCount, causalPast: c.causal ? c.past : nil,
                                            out: out.baseAddress!, outStride: queryStride)
                }
                return c.bf16
                    ? keys16.withUnsafeBufferPointer { k in values16.withUnsafeBufferPointer { v in run(k.baseAddress!, v.baseAddress!) } }
                    : keys.withUnsafeBufferPointer { k in values.withUnsafeBufferPointer { v in run(k.baseAddress!, v.baseAddress!) } }
            }
        }
        // The kernel needs AVX-512, which every CPU with AVX512_BF16 has; elsewhere the per-head path runs alone.
        #expect(ran || !Qwen3VL.Precision.bf16.isSupported, "the fused kernel declined on a CPU with AVX-512")
        guard ran else { return }
        let largest = zip(fused, reference).map { abs($0 - $1) }.max() ?? .nan
        print("fused attention, \(c): max |Δ| = \(largest) (bound 1e-5)")
        #expect(largest <= 1e-5, "\(c), \(generator)")
    }
}
