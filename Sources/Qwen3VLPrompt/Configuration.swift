public import Foundation

extension Qwen3VL {
    /// The model architecture from `config.json`: nested `text_config` and `vision_config`, plus the
    /// special-token ids the prompt builder splices images with.
    ///
    /// Decodes both the transformers v4 file (rope settings in `text_config.rope_scaling`, `rope_theta`
    /// beside it) and the v5 file (everything in `text_config.rope_parameters`).
    /// Only keys the engine uses are kept; unknown keys are ignored.
    public struct Configuration: Decodable, Hashable, Sendable {
        /// The only `model_type` this engine runs.
        public static let modelType = "qwen3_vl"

        public var text: Text
        public var vision: Vision
        /// Whether `lm_head` shares the embedding matrix (true for 2B/4B, false for 8B). Read from the top
        /// level first, then `text_config`; transformers' class default is false.
        public var tieWordEmbeddings: Bool
        /// `<|image_pad|>`, the placeholder replaced by vision features.
        public var imageTokenID: Int
        /// `<|video_pad|>`.
        public var videoTokenID: Int
        /// `<|vision_start|>`, which precedes the placeholders.
        public var visionStartTokenID: Int
        /// `<|vision_end|>`, which follows them.
        public var visionEndTokenID: Int

        public struct Text: Decodable, Hashable, Sendable {
            public var hiddenSize: Int
            public var intermediateSize: Int
            public var numHiddenLayers: Int
            public var numAttentionHeads: Int
            public var numKeyValueHeads: Int
            public var headDim: Int
            public var rmsNormEps: Double
            public var vocabSize: Int
            public var maxPositionEmbeddings: Int
            /// Base frequency of the rotary embedding (5,000,000 for every released size; also the class default).
            public var ropeTheta: Double
            /// How the rotary half-dimension (64) splits among temporal, height and width positions.
            /// Default [24, 20, 20], the value `modeling_qwen3_vl.py` falls back to.
            public var mropeSection: [Int]
            /// Whether the three position streams interleave across frequencies (Qwen3-VL) rather than
            /// occupy contiguous chunks (Qwen2-VL). Default true: Qwen3-VL's rotary code is always interleaved.
            public var mropeInterleaved: Bool

            enum CodingKeys: String, CodingKey {
                case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
                case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
                case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", rmsNormEps = "rms_norm_eps"
                case vocabSize = "vocab_size", maxPositionEmbeddings = "max_position_embeddings"
                case ropeTheta = "rope_theta", ropeScaling = "rope_scaling", ropeParameters = "rope_parameters"
                case tieWordEmbeddings = "tie_word_embeddings"
            }

            /// The rope dictionary under either spelling.
            struct Rope: Decodable {
                var ropeTheta: Double?
                var mropeSection: [Int]?
                var mropeInterleaved: Bool?

                enum CodingKeys: String, CodingKey {
                    case ropeTheta = "rope_theta", mropeSection = "mrope_section", mropeInterleaved = "mrope_interleaved"
                }
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
                intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
                numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
                numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
                numKeyValueHeads = try c.decode(Int.self, forKey: .numKeyValueHeads)
                headDim = try c.decode(Int.self, forKey: .headDim)
                rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
                vocabSize = try c.decode(Int.self, forKey: .vocabSize)
                maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 262_144
                let rope = try c.decodeIfPresent(Rope.self, forKey: .ropeParameters)
                    ?? c.decodeIfPresent(Rope.self, forKey: .ropeScaling)
                ropeTheta = try rope?.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 5_000_000
                mropeSection = rope?.mropeSection ?? [24, 20, 20]
                mropeInterleaved = rope?.mropeInterleaved ?? true
            }
        }

        public struct Vision: Decodable, Hashable, Sendable {
            public var depth: Int
            public var hiddenSize: Int
            public var intermediateSize: Int
            public var numHeads: Int
            public var patchSize: Int
            public var spatialMergeSize: Int
            public var temporalPatchSize: Int
            /// Width of the merger output, equal to the text hidden size.
            public var outHiddenSize: Int
            /// The blocks whose outputs feed the DeepStack mergers.
            public var deepstackVisualIndexes: [Int]
            /// Rows of the learned position table (a square grid: 2304 = 48 x 48).
            public var numPositionEmbeddings: Int
            public var hiddenAct: Activation

            enum CodingKeys: String, CodingKey {
                case depth, hiddenSize = "hidden_size", intermediateSize = "intermediate_size", numHeads = "num_heads"
                case patchSize = "patch_size", spatialMergeSize = "spatial_merge_size", temporalPatchSize = "temporal_patch_size"
                case outHiddenSize = "out_hidden_size", deepstackVisualIndexes = "deepstack_visual_indexes"
                case numPositionEmbeddings = "num_position_embeddings", hiddenAct = "hidden_act"
            }

            /// The tower sizes differ per model and the class defaults describe a different tower, so
            /// they are required; the patch geometry and activation are the same for every release.
            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                depth = try c.decode(Int.self, forKey: .depth)
                hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
                intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
                numHeads = try c.decode(Int.self, forKey: .numHeads)
                outHiddenSize = try c.decode(Int.self, forKey: .outHiddenSize)
                deepstackVisualIndexes = try c.decode([Int].self, forKey: .deepstackVisualIndexes)
                numPositionEmbeddings = try c.decode(Int.self, forKey: .numPositionEmbeddings)
                patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 16
                spatialMergeSize = try c.decodeIfPresent(Int.self, forKey: .spatialMergeSize) ?? 2
                temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? 2
                hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? .geluTanh
            }
        }

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", text = "text_config", vision = "vision_config"
            case tieWordEmbeddings = "tie_word_embeddings", imageTokenID = "image_token_id", videoTokenID = "video_token_id"
            case visionStartTokenID = "vision_start_token_id", visionEndTokenID = "vision_end_token_id"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let modelType = try c.decode(String.self, forKey: .modelType)
            guard modelType == Self.modelType else {
                throw WeightsError(.wrongModelType, "model_type is \"\(modelType)\", expected \"\(Self.modelType)\"")
            }
            text = try c.decode(Text.self, forKey: .text)
            vision = try c.decode(Vision.self, forKey: .vision)
            let textContainer = try c.nestedContainer(keyedBy: Text.CodingKeys.self, forKey: .text)
            tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
                ?? textContainer.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
            imageTokenID = try c.decodeIfPresent(Int.self, forKey: .imageTokenID) ?? 151_655
            videoTokenID = try c.decodeIfPresent(Int.self, forKey: .videoTokenID) ?? 151_656
            visionStartTokenID = try c.decodeIfPresent(Int.self, forKey: .visionStartTokenID) ?? 151_652
            visionEndTokenID = try c.decodeIfPresent(Int.self, forKey: .visionEndTokenID) ?? 151_653
        }

        /// Reads and decodes `config.json` at `url`.
        public init(contentsOf url: URL) throws {
            self = try decodeConfigFile(Self.self, at: url)
        }
    }

    /// Sampling defaults and stop tokens from `generation_config.json`. Every key is optional.
    public struct GenerationConfig: Decodable, Hashable, Sendable {
        /// Token ids that end generation; the file may give one id or a list.
        public var eosTokenIDs: [Int]
        public var padTokenID: Int?
        public var doSample: Bool?
        public var temperature: Double?
        public var topP: Double?
        public var topK: Int?
        public var repetitionPenalty: Double?

        enum CodingKeys: String, CodingKey {
            case eosTokenIDs = "eos_token_id", padTokenID = "pad_token_id", doSample = "do_sample"
            case temperature, topP = "top_p", topK = "top_k", repetitionPenalty = "repetition_penalty"
        }

        public init(
            eosTokenIDs: [Int] = [], padTokenID: Int? = nil, doSample: Bool? = nil, temperature: Double? = nil,
            topP: Double? = nil, topK: Int? = nil, repetitionPenalty: Double? = nil
        ) {
            self.eosTokenIDs = eosTokenIDs
            self.padTokenID = padTokenID
            self.doSample = doSample
            self.temperature = temperature
            self.topP = topP
            self.topK = topK
            self.repetitionPenalty = repetitionPenalty
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let single = try? c.decodeIfPresent(Int.self, forKey: .eosTokenIDs) {
                eosTokenIDs = [single]
            } else {
                eosTokenIDs = try c.decodeIfPresent([Int].self, forKey: .eosTokenIDs) ?? []
            }
            padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID)
            doSample = try c.decodeIfPresent(Bool.self, forKey: .doSample)
            temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
            topP = try c.decodeIfPresent(Double.self, forKey: .topP)
            topK = try c.decodeIfPresent(Int.self, forKey: .topK)
            repetitionPenalty = try c.decodeIfPresent(Double.self, forKey: .repetitionPenalty)
        }

        public init(contentsOf url: URL) throws {
            self = try decodeConfigFile(Self.self, at: url)
        }
    }

    /// The activation a vision block uses (`hidden_act`), under any of its transformers names.
    public enum Activation: Hashable, Sendable, Decodable {
        /// GELU's tanh approximation: `gelu_pytorch_tanh`, `gelu_new`, `gelu_fast`.
        case geluTanh
        /// The exact (erf) GELU: `gelu`.
        case gelu
        /// `silu`.
        case silu

        public init(name: String) throws {
            switch name {
            case "gelu_pytorch_tanh", "gelu_new", "gelu_fast": self = .geluTanh
            case "gelu": self = .gelu
            case "silu": self = .silu
            default: throw WeightsError(.invalidConfig, "unsupported vision hidden_act \(name)")
            }
        }

        public init(from decoder: any Decoder) throws {
            try self.init(name: decoder.singleValueContainer().decode(String.self))
        }
    }

    /// Image preprocessing settings from `preprocessor_config.json`.
    ///
    /// The pixel budget is spelled `size: {shortest_edge, longest_edge}` in Qwen3-VL files (pixel
    /// counts, despite the names) and `min_pixels` / `max_pixels` in older Qwen2-VL ones; both decode.
    /// Defaults are the Qwen3-VL release values.
    public struct PreprocessorConfig: Decodable, Hashable, Sendable {
        public var minPixels: Int
        public var maxPixels: Int
        public var patchSize: Int
        public var mergeSize: Int
        public var temporalPatchSize: Int
        public var imageMean: [Double]
        public var imageStd: [Double]

        enum CodingKeys: String, CodingKey {
            case minPixels = "min_pixels", maxPixels = "max_pixels", size, patchSize = "patch_size"
            case mergeSize = "merge_size", temporalPatchSize = "temporal_patch_size"
            case imageMean = "image_mean", imageStd = "image_std"
        }

        struct Size: Decodable {
            var shortestEdge: Int?
            var longestEdge: Int?
            enum CodingKeys: String, CodingKey { case shortestEdge = "shortest_edge", longestEdge = "longest_edge" }
        }

        public init(
            minPixels: Int = 65_536, maxPixels: Int = 16_777_216, patchSize: Int = 16, mergeSize: Int = 2,
            temporalPatchSize: Int = 2, imageMean: [Double] = [0.5, 0.5, 0.5], imageStd: [Double] = [0.5, 0.5, 0.5]
        ) {
            self.minPixels = minPixels
            self.maxPixels = maxPixels
            self.patchSize = patchSize
            self.mergeSize = mergeSize
            self.temporalPatchSize = temporalPatchSize
            self.imageMean = imageMean
            self.imageStd = imageStd
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let size = try c.decodeIfPresent(Size.self, forKey: .size)
            let defaults = Self()
            minPixels = try size?.shortestEdge ?? c.decodeIfPresent(Int.self, forKey: .minPixels) ?? defaults.minPixels
            maxPixels = try size?.longestEdge ?? c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? defaults.maxPixels
            patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? defaults.patchSize
            mergeSize = try c.decodeIfPresent(Int.self, forKey: .mergeSize) ?? defaults.mergeSize
            temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? defaults.temporalPatchSize
            imageMean = try c.decodeIfPresent([Double].self, forKey: .imageMean) ?? defaults.imageMean
            imageStd = try c.decodeIfPresent([Double].self, forKey: .imageStd) ?? defaults.imageStd
        }

        public init(contentsOf url: URL) throws {
            self = try decodeConfigFile(Self.self, at: url)
        }
    }
}

/// Reads and decodes one JSON config file, turning every failure into a one-line `WeightsError` that
/// names the file and, for a missing or mistyped key, its path (`text_config.hidden_size`).
package func decodeConfigFile<Config: Decodable>(_ type: Config.Type, at url: URL) throws -> Config {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw Qwen3VL.WeightsError(.invalidConfig, "\(url.path): cannot read the file")
    }
    return try decodeConfig(type, from: data, path: url.path)
}

/// Decodes the bytes of a JSON config file, with the one-line errors of ``decodeConfigFile(_:at:)``;
/// `path` names the file in them. Fuzzing calls it directly, without writing a file per input.
package func decodeConfig<Config: Decodable>(_ type: Config.Type, from data: Data, path: String) throws -> Config {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let error as Qwen3VL.WeightsError {
        throw Qwen3VL.WeightsError(error.code, "\(path): \(error.message)")
    } catch let error as DecodingError {
        throw Qwen3VL.WeightsError(.invalidConfig, "\(path): \(describe(error))")
    }
}

private func describe(_ error: DecodingError) -> String {
    func keyPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing key \(keyPath(context.codingPath + [key]))"
    case .typeMismatch(_, let context): return "\(keyPath(context.codingPath)) has the wrong type"
    case .valueNotFound(_, let context): return "\(keyPath(context.codingPath)) is null"
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "not valid JSON" : "\(keyPath(context.codingPath)) is invalid"
    @unknown default: return "cannot decode"
    }
}
