import Qwen3VLPrompt
internal import CKernels
internal import COpenBLAS

extension Qwen3VL {
    /// Scaled dot-product attention of one head, for the decoder (causal, against its KV cache) and
    /// the vision tower (every patch of a frame sees every other).
    enum Attention {
        /// Queries per block: the keys are packed once per block, so larger blocks pay less packing
        /// (256 instead of 64 made the 2B vision tower 23% faster on a 1280×720 screenshot). The
        /// caller's `scores` buffer holds `queryBlock × keys` floats.
        static let queryBlock = 256

        /// How the fused kernel multiplies (`CKERNELS_PRODUCTS_*`).
        enum Products {
            case float32
            /// int8 scores, 16-bit weighted sums (``Precision/integerAttention``).
            case integer
            /// Queries and probabilities rounded to BF16 against BF16 keys and values (``Precision/bf16Attention``).
            case bf16

            var code: Int32 {
                switch self {
                case .float32: CKERNELS_PRODUCTS_F32
                case .integer: CKERNELS_PRODUCTS_INTEGER
                case .bf16: CKERNELS_PRODUCTS_BF16
                }
            }
        }

        /// Every head of `count` query rows through the fused kernel (tiles of queries against tiles of
        /// keys, a running softmax, no score matrix; `ckernels_attention`), against float32 or BF16 keys
        /// and values. Query row r of head h is at `queries + r·queryStride + h·headDim`; key j of KV head
        /// g at `g·keyHeadStride + j·keyStride`. `products` says how it multiplies, where the CPU (and, for
        /// BF16 products, BF16 keys) allow. Returns false without touching `out` where the kernel does
        /// not run (no AVX-512): the caller then takes ``head(queries:queryStride:count:keys:values:keyStride:keyCount:causalPast:headDim:out:outStride:scores:)``.
        static func fused(queries: UnsafePointer<Float>, queryStride: Int, count: Int, heads: Int, keyValueHeads: Int, headDim: Int,
                          keys: UnsafeRawPointer, values: UnsafeRawPointer, bf16: Bool, products: Products, keyStride: Int, keyHeadStride: Int,
                          keyCount: Int, causalPast: Int?, out: UnsafeMutablePointer<Float>, outStride: Int) -> Bool {
            ckernels_attention(queries, queryStride, count, heads, keyValueHeads, headDim, keys, values, bf16 ? CKERNELS_BF16 : CKERNELS_F32,
                               keyStride, keyHeadStride, keyCount, causalPast ?? -1, out, outStride, products.code) != 0
        }

        /// One new token's query heads (`heads · headDim` floats) against `keyCount` positions of a BF16
        /// cache, every core, float32 math (`ckernels_attend_bf16`): position t of KV head g at
        /// `g·keyHeadStride + t·keyStride`; head h reads KV head h / (heads / keyValueHeads). With `products`
        /// `.bf16` it rounds as ``fused(queries:queryStride:count:heads:keyValueHeads:headDim:keys:values:bf16:products:keyStride:keyHeadStride:keyCount:causalPast:out:outStride:)``
        /// does, so the token gets the output a prefill would give it.
        static func decode(query: UnsafePointer<Float>, heads: Int, keyValueHeads: Int, headDim: Int,
                           keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>, keyStride: Int, keyHeadStride: Int, keyCount: Int,
                           products: Products, out: UnsafeMutablePointer<Float>) {
            ckernels_attend_bf16(query, heads, keyValueHeads, headDim, keys, values, keyStride, keyHeadStride, keyCount, out, products.code)
        }

        /// `out[r] = softmax(q[r] · Kᵀ / √headDim) · V` for `count` query rows, a block of queries at a
        /// time: scores through sgemm (sgemv for a single query), softmax per row, then scores · V.
        /// Rows lie `queryStride`, `keyStride` and `outStride` floats apart. Without `causalPast` every
        /// query sees all `keyCount` keys; with it, query r sees the first `causalPast + r + 1`.
        static func head(queries: UnsafePointer<Float>, queryStride: Int, count n: Int,
                         keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyStride: Int, keyCount: Int, causalPast: Int?,
                         headDim: Int, out: UnsafeMutablePointer<Float>, outStride: Int, scores: UnsafeMutablePointer<Float>) {
            let scale = 1 / Float(headDim).squareRoot(), hd = Int32(headDim), kv = Int32(keyStride)
            for first in stride(from: 0, to: n, by: queryBlock) {
                let m = min(queryBlock, n - first)
                let visible = causalPast.map { $0 + first + m } ?? keyCount // keys the block's last query sees
                let q = queries + first * queryStride, o = out + first * outStride
                if m == 1 {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(visible), hd, scale, keys, kv, q, 1, 0, scores, 1)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(visible), hd, scale, q, Int32(queryStride),
                                keys, kv, 0, scores, Int32(visible))
                }
                // Row r sees its first `visible − (m − 1 − r)` keys when causal (the later tokens of the block are zeroed).
                ckernels_softmax_rows(scores, m, visible, causalPast == nil ? 0 : 1)
                if m == 1 {
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(visible), hd, 1, values, kv, scores, 1, 0, o, 1)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), hd, Int32(visible), 1, scores, Int32(visible),
                                values, kv, 0, o, Int32(outStride))
                }
            }
        }
    }
}
