import Qwen3VLPrompt
internal import CKernels

extension Qwen3VL {
    /// The C matrix kernels in BF16, int8 and int4 (`Sources/CKernels/matrix.c`), one Swift function per C call.
    enum Kernels {
        /// `y (+)= W · x` for one activation vector: BF16 (`vdpbf16ps`) or int8 and int4 (`vpdpbusd`). False,
        /// with `y` untouched, for a matrix or CPU those kernels do not cover. The C call is `ckernels_gemv`.
        static func gemv(_ w: ckernels_matrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, accumulate: Bool) -> Bool {
            withUnsafePointer(to: w) { ckernels_gemv($0, x, y, accumulate ? 1 : 0) == 1 }
        }

        /// `y[i] = W[i] · x` for matrices of one format and width that read the same vector, as one job
        /// over the cores with x rounded or quantized once; false, every `y[i]` untouched, where
        /// ``gemv(_:_:_:accumulate:)`` would be. The C call is `ckernels_gemv_many`.
        static func gemv(_ w: [ckernels_matrix], _ x: UnsafePointer<Float>, _ y: [UnsafeMutablePointer<Float>]) -> Bool {
            precondition(w.count == y.count, "one output per matrix")
            return w.withUnsafeBufferPointer { matrices in
                y.map { Optional($0) }.withUnsafeBufferPointer { outputs in
                    ckernels_gemv_many(matrices.baseAddress, matrices.count, x, outputs.baseAddress, 0) == 1
                }
            }
        }

        /// `y[n, rows] (+)= x[n, cols] · Wᵀ` with BF16-rounded activations; false on a CPU without
        /// AVX512_BF16. The C call is `ckernels_gemm_bf16`.
        static func gemmBF16(_ w: ckernels_matrix, _ x: UnsafePointer<Float>, rows n: Int, _ y: UnsafeMutablePointer<Float>,
                             accumulate: Bool) -> Bool {
            withUnsafePointer(to: w) { ckernels_gemm_bf16($0, x, n, y, accumulate ? 1 : 0) == 1 }
        }

        /// `y[n, rows] (+)= x[n, cols] · Wᵀ` for an int8 or int4 matrix with activations quantized in int8; false
        /// on a CPU without AVX512_VNNI. The C call is `ckernels_gemm_q8`.
        static func gemmInt8(_ w: ckernels_matrix, _ x: UnsafePointer<Float>, rows n: Int, _ y: UnsafeMutablePointer<Float>,
                             accumulate: Bool) -> Bool {
            withUnsafePointer(to: w) { ckernels_gemm_q8($0, x, n, y, accumulate ? 1 : 0) == 1 }
        }

        /// Whether ``gemmBF16(_:_:rows:_:accumulate:)`` beats float32 sgemm on this CPU (timed once). The C
        /// call is `ckernels_bf16_gemm_pays`.
        static var bf16ProductPays: Bool { ckernels_bf16_gemm_pays() != 0 }

        /// An F32 or BF16 matrix in a quantized format. The C calls are `ckernels_quantize_q8` and
        /// `ckernels_quantize_q4`.
        static func quantize(_ w: ckernels_matrix, _ quantization: Weight.Quantization) -> Weight.Quantized {
            let count = w.rows * quantization.rowBytes(columns: w.cols)
            var scales = [UInt16](repeating: 0, count: quantization.scaleCount(rows: w.rows, columns: w.cols))
            let quants = [UInt8](unsafeUninitializedCapacity: count) { quants, initialized in
                scales.withUnsafeMutableBufferPointer { scales in
                    withUnsafePointer(to: w) {
                        switch quantization {
                        case .int8: ckernels_quantize_q8($0, quants.baseAddress, scales.baseAddress)
                        case .int4: ckernels_quantize_q4($0, quants.baseAddress, scales.baseAddress)
                        }
                    }
                }
                initialized = count
            }
            return Weight.Quantized(quantization: quantization, bytes: .made(quants: quants, scales: scales))
        }

        /// Rows of an int8 or int4 matrix as float32, `cols` per row. The C call is `ckernels_dequantize`.
        static func dequantize(_ w: ckernels_matrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
            withUnsafePointer(to: w) { ckernels_dequantize($0, rows.lowerBound, rows.count, out) }
        }
    }
}

extension ckernels_matrix {
    /// Whether the matrix is int8 or int4, which the kernels multiply in int8 in either precision.
    var isQuantized: Bool { format == CKERNELS_Q8 || format == CKERNELS_Q4 }
}
