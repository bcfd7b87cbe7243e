public import Qwen3VLPrompt
internal import CKernels
internal import COpenBLAS

extension Qwen3VL {
    /// A weight tensor as the forward passes use it.
    ///
    /// Matrices stay where the checkpoint keeps them, in the file's read-only mapping and in its own
    /// dtype, and are widened to float32 only while they are multiplied (a block of rows at a time, or,
    /// for a BF16 matrix times one vector, inside the kernel): a BF16 model is not doubled by a float32
    /// copy, and resident memory stays near the file size. Float32 tensors are used in place. Small
    /// tensors (norms, biases, tables) are read once with ``floats()``.
    public struct Weight: Sendable {
        public let shape: [Int]
        private var storage: Storage

        private enum Storage: Sendable {
            case floats([Float])
            case mapped(TensorView)
            case quantized(Quantized)
        }

        /// The block-quantized formats of the C kernels: blocks of 32 weights with one F16 scale, the
        /// weights in 8 or 4 bits.
        enum Quantization: String, Codable, Sendable {
            case int8
            case int4

            var format: Int32 { self == .int8 ? CKERNELS_Q8 : CKERNELS_Q4 }
            func rowBytes(columns: Int) -> Int { ckernels_quantized_row_bytes(format, columns) }
            func scaleCount(rows: Int, columns: Int) -> Int { rows * ckernels_q8_padded_columns(columns) / 32 }
        }

        /// A quantized matrix: `rows × quantization.rowBytes(columns:)` bytes and one F16 scale per 32
        /// weights, made at load or mapped from a saved file (``QuantizedStore``) at byte offsets of it.
        struct Quantized: Sendable {
            enum Bytes: Sendable {
                case made(quants: [UInt8], scales: [UInt16])
                case saved(MappedFile, quants: Int, scales: Int)
            }

            let quantization: Quantization
            let bytes: Bytes

            func withBytes<Result>(_ body: (UnsafePointer<UInt8>, UnsafePointer<UInt16>) throws -> Result) rethrows -> Result {
                switch bytes {
                case .made(let quants, let scales):
                    try quants.withUnsafeBufferPointer { q in try scales.withUnsafeBufferPointer { s in try body(q.baseAddress!, s.baseAddress!) } }
                case .saved(let file, let quants, let scales):
                    try withExtendedLifetime(file) {
                        try body((file.bytes.baseAddress! + quants).assumingMemoryBound(to: UInt8.self),
                             (file.bytes.baseAddress! + scales).assumingMemoryBound(to: UInt16.self))
                    }
                }
            }
        }

        /// The quantized matrix `quantized`, `rows × columns` (``QuantizedStore``'s saved ones).
        init(_ quantized: Quantized, rows: Int, columns: Int) {
            shape = [rows, columns]
            storage = .quantized(quantized)
        }

        /// The quantized form of this matrix, if it has one.
        var quantizedForm: Quantized? {
            if case .quantized(let q) = storage { q } else { nil }
        }

        /// Rows of a widened block when one row of activations is multiplied (decode: about 1 MB, so
        /// the block is still in cache when sgemv reads it) and when many are (prefill: about 16 MB).
        static let vectorBlockFloats = 1 << 18
        static let matrixBlockFloats = 1 << 22

        /// Values already in memory, row-major.
        public init(_ values: [Float], shape: [Int]) {
            precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill the shape \(shape)")
            self.shape = shape
            storage = .floats(values)
        }

        /// A tensor of a mapped checkpoint, left in the mapping. Bytes not aligned to their element size
        /// (a header length that is not a multiple of 8, which the reference writer never produces) are
        /// widened once instead, since the kernels read whole elements.
        public init(_ view: TensorView) {
            shape = view.shape
            let aligned = view.withUnsafeBytes { Int(bitPattern: $0.baseAddress) % view.dtype.byteSize == 0 }
            storage = aligned ? .mapped(view) : .floats(view.floats())
        }

        /// The first dimension: output features of a linear layer, or entries of a table.
        var rows: Int { shape.first ?? 1 }
        /// The product of the other dimensions: input features of a linear layer.
        var columns: Int { shape.dropFirst().reduce(1, *) }

        /// Every value as float32.
        public func floats() -> [Float] {
            switch storage {
            case .floats(let values): values
            case .mapped(let view): view.floats()
            case .quantized:
                [Float](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
                    _ = withMatrix { Kernels.dequantize($0, rows: 0..<rows, into: buffer.baseAddress!) }
                    initialized = rows * columns
                }
            }
        }

        /// Copies row `index` as float32 to `destination` (an embedding lookup).
        func copyRow(_ index: Int, to destination: UnsafeMutablePointer<Float>) {
            switch storage {
            case .floats(let values):
                values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + index * columns, count: columns) }
            case .mapped(let view):
                view.withUnsafeBytes { bytes in
                    Self.widen(bytes.baseAddress! + index * columns * view.dtype.byteSize, view.dtype, count: columns, to: destination)
                }
            case .quantized:
                _ = withMatrix { Kernels.dequantize($0, rows: index..<index + 1, into: destination) }
            }
        }

        /// `y = x · Wᵀ` (or `y += x · Wᵀ` when `accumulate`) for `x` [n, columns] and `y` [n, rows], in
        /// PyTorch's Linear layout.
        ///
        /// An int8 or int4 matrix multiplies in int8 (`vpdpbusd`, activations quantized per block of 32)
        /// in either precision. In `bf16` precision, other matrices go to the C kernels with `vdpbf16ps`, one
        /// row of activations (decode) or many (prefill, packed in blocks, where that beats float32 FMA
        /// on this CPU), on every core. In `f32`: one row
        /// of a BF16 matrix goes to the C kernel that widens as it multiplies, on every core; otherwise
        /// sgemv for one row (2–3× faster than sgemm with m = 1 here) and sgemm for several, a matrix
        /// that is not float32 widened into `scratch` a block of rows at a time, each block's products
        /// written to its columns of `y` (also a quantized matrix's, without AVX512_VNNI).
        func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                      precision: Precision, scratch: inout [Float]) {
            let out = rows, inner = columns, beta: Float = accumulate ? 1 : 0
            func product(_ w: UnsafePointer<Float>, rows first: Int, count: Int) {
                if n == 1 {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(count), Int32(inner), 1, w, Int32(inner), x, 1, beta, y + first, 1)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(inner), 1, x, Int32(inner),
                                w, Int32(inner), beta, y + first, Int32(out))
                }
            }
            /// `product` over blocks of rows widened by `widen(first, count, into)`.
            func blocked(_ widen: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
                let block = max(1, min(out, (n == 1 ? Self.vectorBlockFloats : Self.matrixBlockFloats) / inner))
                if scratch.count < block * inner { scratch = [Float](repeating: 0, count: block * inner) }
                scratch.withUnsafeMutableBufferPointer { buffer in
                    for first in stride(from: 0, to: out, by: block) {
                        let count = min(block, out - first)
                        widen(first, count, buffer.baseAddress!)
                        product(buffer.baseAddress!, rows: first, count: count)
                    }
                }
            }
            let fast = withMatrix { matrix in
                if n == 1, matrix.isQuantized || precision == .bf16 {
                    return Kernels.gemv(matrix, x, y, accumulate: accumulate)
                }
                if matrix.isQuantized, Kernels.gemmInt8(matrix, x, rows: n, y, accumulate: accumulate) { return true }
                return precision == .bf16 && Kernels.bf16ProductPays && Kernels.gemmBF16(matrix, x, rows: n, y, accumulate: accumulate)
            }
            if fast == true { return }
            switch storage {
            case .floats(let values):
                values.withUnsafeBufferPointer { product($0.baseAddress!, rows: 0, count: out) }
            case .quantized:
                _ = withMatrix { matrix in blocked { first, count, buffer in Kernels.dequantize(matrix, rows: first..<first + count, into: buffer) } }
            case .mapped(let view):
                view.withUnsafeBytes { bytes in
                    let base = bytes.baseAddress!
                    if view.dtype == .f32 {
                        return product(base.assumingMemoryBound(to: Float.self), rows: 0, count: out)
                    }
                    // Decode: a kernel that widens as it multiplies, on every core (false without AVX2).
                    if n == 1, view.dtype == .bf16,
                       ckernels_gemv_bf16(base.assumingMemoryBound(to: UInt16.self), x, y, out, inner, accumulate ? 1 : 0) == 1 {
                        return
                    }
                    blocked { first, count, buffer in
                        Self.widen(base + first * inner * view.dtype.byteSize, view.dtype, count: count * inner, to: buffer)
                    }
                }
            }
        }

        /// `y[i] = weights[i] · x` for one activation vector and matrices that read it alike (a layer's
        /// q/k/v, its gate and up), as one job over the cores with `x` rounded or quantized once: what
        /// ``multiply(_:rows:into:accumulate:precision:scratch:)`` does for each with one row, where it
        /// would use the BF16 or int8 kernels. False, nothing written, where it would not.
        static func multiply(_ weights: [Weight], vector x: UnsafePointer<Float>, into y: [UnsafeMutablePointer<Float>],
                             precision: Precision) -> Bool {
            func collect(_ rest: ArraySlice<Weight>, _ matrices: [ckernels_matrix]) -> Bool {
                guard let first = rest.first else {
                    guard matrices.allSatisfy(\.isQuantized) || precision == .bf16 else { return false }
                    return Kernels.gemv(matrices, x, y)
                }
                return first.withMatrix { collect(rest.dropFirst(), matrices + [$0]) } ?? false
            }
            return collect(weights[...], [])
        }

        /// The matrix as the C kernels describe it, valid inside `body`; nil for F16 matrices, which have
        /// no such form.
        func withMatrix<Result>(_ body: (ckernels_matrix) -> Result) -> Result? {
            let (out, inner) = (Int(rows), Int(columns))
            switch storage {
            case .floats(let values):
                return values.withUnsafeBufferPointer {
                    body(ckernels_matrix(format: CKERNELS_F32, values: $0.baseAddress, scales: nil, rows: out, cols: inner))
                }
            case .quantized(let q):
                return q.withBytes { quants, scales in
                    body(ckernels_matrix(format: q.quantization.format, values: quants, scales: scales, rows: out, cols: inner))
                }
            case .mapped(let view):
                let format: Int32
                switch view.dtype {
                case .f32: format = CKERNELS_F32
                case .bf16: format = CKERNELS_BF16
                case .f16: return nil
                }
                return view.withUnsafeBytes {
                    body(ckernels_matrix(format: format, values: $0.baseAddress, scales: nil, rows: out, cols: inner))
                }
            }
        }

        /// This matrix in a quantized format; a mapped one then gives its pages back to the kernel, so the
        /// BF16 copy does not stay resident next to the quantized one. F16 matrices, which no kernel
        /// reads, stay as they are.
        func quantized(_ quantization: Quantization) -> Weight {
            var result = self
            guard let quantized = withMatrix({ Kernels.quantize($0, quantization) }) else { return self }
            result.storage = .quantized(quantized)
            if case .mapped(let view) = storage { view.releasePages() }
            return result
        }

        /// `count` elements of `dtype` at `source` (aligned to the element size) as float32.
        private static func widen(_ source: UnsafeRawPointer, _ dtype: Safetensors.DType, count: Int, to destination: UnsafeMutablePointer<Float>) {
            switch dtype {
            case .f32:
                destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
            case .bf16:
                ckernels_widen_bf16(source.assumingMemoryBound(to: UInt16.self), destination, count)
            case .f16:
                let halves = source.assumingMemoryBound(to: UInt16.self)
                for i in 0..<count { destination[i] = Float(Float16(bitPattern: UInt16(littleEndian: halves[i]))) }
            }
        }
    }
}
