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
        private let storage: Storage

        private enum Storage: Sendable {
            case floats([Float])
            case mapped(TensorView)
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
            }
        }

        /// `y = x · Wᵀ` (or `y += x · Wᵀ` when `accumulate`) for `x` [n, columns] and `y` [n, rows], in
        /// PyTorch's Linear layout. One row of a BF16 matrix (decode) goes to the C kernel that widens as
        /// it multiplies, on every core; otherwise sgemv for one row (2–3× faster than sgemm with m = 1
        /// here) and sgemm for several, a matrix that is not float32 widened into `scratch` a block of
        /// rows at a time, each block's products written to its columns of `y`.
        func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                      scratch: inout [Float]) {
            let out = rows, inner = columns, beta: Float = accumulate ? 1 : 0
            func product(_ w: UnsafePointer<Float>, rows first: Int, count: Int) {
                if n == 1 {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(count), Int32(inner), 1, w, Int32(inner), x, 1, beta, y + first, 1)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(inner), 1, x, Int32(inner),
                                w, Int32(inner), beta, y + first, Int32(out))
                }
            }
            switch storage {
            case .floats(let values):
                values.withUnsafeBufferPointer { product($0.baseAddress!, rows: 0, count: out) }
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
                    let block = max(1, min(out, (n == 1 ? Self.vectorBlockFloats : Self.matrixBlockFloats) / inner))
                    if scratch.count < block * inner { scratch = [Float](repeating: 0, count: block * inner) }
                    scratch.withUnsafeMutableBufferPointer { buffer in
                        for first in stride(from: 0, to: out, by: block) {
                            let count = min(block, out - first)
                            Self.widen(base + first * inner * view.dtype.byteSize, view.dtype, count: count * inner, to: buffer.baseAddress!)
                            product(buffer.baseAddress!, rows: first, count: count)
                        }
                    }
                }
            }
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
