public import Qwen3VLPrompt
internal import CKernels

extension Qwen3VL {
    /// How the matrix products round their activations.
    ///
    /// `f32` multiplies in float32 (the weights widened exactly) and matches transformers in float32 to
    /// 1e-4 of the logits. `bf16` rounds activations to BF16 per block and multiplies with `vdpbf16ps`
    /// into float32 sums, as PyTorch's bfloat16 matmuls do, and keeps the KV cache in BF16; it needs
    /// AVX512_BF16. Where the CPU also has AVX512_VNNI, `bf16` multiplies inside the vision tower's
    /// attention in integers (``integerAttention``), and where `vdpbf16ps` outruns float32 FMA, inside
    /// the decoder's attention in BF16 (``bf16Attention``).
    public enum Precision: String, Sendable, CaseIterable {
        case f32
        case bf16

        /// Whether this CPU can run the mode.
        public var isSupported: Bool {
            switch self {
            case .f32: true
            case .bf16: ckernels_has_bf16_dot() != 0
            }
        }

        /// Throws when this CPU cannot run the mode.
        func checkSupported() throws {
            guard isSupported else { throw WeightsError(.unsupportedPrecision, "\(rawValue) precision needs AVX512_BF16, which this CPU lacks") }
        }

        /// Whether the vision tower's attention (every patch against every patch of its frame) multiplies
        /// in integers: scores from queries and keys rounded to int8, each query and each key with its own
        /// scale after the keys' mean is taken out (a shift of every score of a query, which softmax
        /// ignores; `vpdpbusd`, four times float32's products per instruction), and weighted sums from
        /// probabilities as 12-bit integers of each tile's largest and values rounded to 14 bits per head
        /// dimension (`vpdpwssd`, twice float32's). The softmax stays float32. The decoder does not: the
        /// keys' mean and the values' scales are taken over the whole call, so the prompt cache would
        /// give a prompt other logits when it splits it otherwise (``bf16Attention``).
        var integerAttention: Bool { self == .bf16 && ckernels_has_int8_dot() != 0 }

        /// Whether the decoder's attention multiplies in BF16: each query and each tile's probabilities
        /// rounded to BF16, against the BF16 cache as stored (`vdpbf16ps`, twice float32's products per
        /// instruction), sums and softmax in float32. A token's output depends only on its own query and
        /// the cache, and decoding one token rounds the same way, so a prompt gets the same logits
        /// however the prompt cache splits it. Only where `vdpbf16ps` outruns float32 FMA
        /// (``Kernels/bf16ProductPays``).
        var bf16Attention: Bool { self == .bf16 && Kernels.bf16ProductPays }

        /// The fastest mode this CPU supports: `bf16` with AVX512_BF16, else `f32`.
        public static var fastest: Precision { Precision.bf16.isSupported ? .bf16 : .f32 }
    }

    /// How the decoder's matrices are held in memory.
    ///
    /// `bf16` leaves them as the checkpoint stores them (BF16 for the released models), in its mapping.
    /// `int8` quantizes them when the model loads into blocks of 32 weights with one F16 scale (like
    /// llama.cpp's Q8_0: about 1.06 bytes per weight, half of BF16), and decode multiplies them with
    /// `vpdpbusd` (AVX512_VNNI; plain C elsewhere) against activations quantized the same way.
    /// `int4` stores the decoder layers' weights in 4 bits (rounded like llama.cpp's Q4_0: about 0.56
    /// bytes per weight), so decode, which reads every weight once per token, streams half of int8's
    /// bytes; the embedding and output matrix and the vision tower stay int8, as llama.cpp's Q4_0 files
    /// keep their output matrix in more bits. Either quantized format is saved next to the checkpoint
    /// the first time it is made (``QuantizedStore``).
    public enum WeightFormat: String, Sendable, CaseIterable {
        case bf16
        case int8
        case int4

        /// The fastest format for this CPU at int8's accuracy: `int8` with AVX512_VNNI, else `bf16` (the
        /// portable int8 kernel is slower than BF16 weights). `int4` is faster still, and is asked for.
        public static var fastest: WeightFormat { ckernels_has_int8_dot() != 0 ? .int8 : .bf16 }

        /// How the decoder layers' matrices are quantized; nil: as stored.
        var layers: Weight.Quantization? {
            switch self {
            case .bf16: nil
            case .int8: .int8
            case .int4: .int4
            }
        }

        /// How the embedding, the output matrix and the vision tower's matrices are quantized; nil: as stored.
        var others: Weight.Quantization? { self == .bf16 ? nil : .int8 }

        /// The format the vision tower loads in: the same, but int8 for `int4`.
        var vision: WeightFormat { self == .int4 ? .int8 : self }
    }
}
