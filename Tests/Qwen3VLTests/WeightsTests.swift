import Foundation
import Testing

@testable import Qwen3VL
import Qwen3VLPrompt
import TestSupportCore

/// Safetensors reading, config decoding and model-folder loading, including damaged files.
@Suite("Weights")
struct WeightsTests {
    // MARK: Safetensors values

    @Test func readsF32F16AndBF16ValuesExactly() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write("values.safetensors", SafetensorsFile(tensors: [
            .f32("a", shape: [2, 2], [1, -2.5, 0, 3.25]),
            .bits("b", dtype: "BF16", shape: [3], [0x3F80, 0xC000, 0x3E80]),
            .bits("c", dtype: "F16", shape: [1, 2], [0x3C00, 0xC000]),
            .bits("scalar", dtype: "BF16", shape: [], [0x4040]),
        ], metadata: ["format": "pt"]).bytes(headerPadding: 1))  // odd padding: data is not 4-byte aligned
        let file = try Qwen3VL.Safetensors(contentsOf: url)
        #expect(file.names == ["a", "b", "c", "scalar"])
        #expect(file.metadata == ["format": "pt"])

        let a = try file.tensor(named: "a")
        #expect(a.dtype == .f32 && a.shape == [2, 2] && a.byteCount == 16)
        #expect(a.floats() == [1, -2.5, 0, 3.25])
        let b = try file.tensor(named: "b")
        #expect(b.dtype == .bf16 && b.shape == [3])
        #expect(b.floats() == [1, -2, 0.25])
        #expect(b.withUnsafeBytes { Array($0) } == [0x80, 0x3F, 0x00, 0xC0, 0x80, 0x3E])
        let c = try file.tensor(named: "c")
        #expect(c.dtype == .f16 && c.shape == [1, 2])
        #expect(c.floats() == [1, -2])
        let scalar = try file.tensor(named: "scalar")
        #expect(scalar.elementCount == 1 && scalar.floats() == [3])
    }

    @Test func viewsOutliveTheFileValue() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write("x.safetensors", SafetensorsFile(tensors: [.f32("x", shape: [2], [7, 8])]).bytes())
        let view = try Qwen3VL.Safetensors(contentsOf: url).tensor(named: "x")
        #expect(view.floats() == [7, 8])
    }

    // MARK: Weights used in place

    /// BF16, F16 and F32 matrices left in the mapping multiply like their float32 values, for one row
    /// (BF16: the fused kernel on every core; else sgemv) and several (sgemm, across the blocks a large
    /// BF16 matrix is widened in), overwriting or adding to `y`; an F32 tensor
    /// that is not 4-byte aligned is widened once and multiplies the same.
    @Test(arguments: [0, 1])
    func mappedMatricesMultiplyLikeTheirValues(headerPadding: Int) throws {
        var random = SplitMix64(seed: 7)
        func bits(_ count: Int) -> [UInt16] { (0..<count).map { _ in UInt16(0x3C00 + random.next(below: 0x0600)) ^ (random.next(below: 2) == 0 ? 0 : 0x8000) } }
        let wide = (rows: 150, columns: 65_536) // 4 rows per decode block, 64 per prefill block
        let folder = try TemporaryFolder()
        let url = try folder.write("w.safetensors", SafetensorsFile(tensors: [
            .bits("large", dtype: "BF16", shape: [wide.rows, wide.columns], bits(wide.rows * wide.columns)),
            .bits("half", dtype: "F16", shape: [5, 3, 2], bits(30)),
            .f32("single", shape: [4, 6], (0..<24).map { Float($0) / 7 - 1.5 }),
        ]).bytes(headerPadding: headerPadding))
        let file = try Qwen3VL.Safetensors(contentsOf: url)
        for name in ["large", "half", "single"] {
            let view = try file.tensor(named: name)
            let weight = Qwen3VL.Weight(view)
            let values = view.floats()
            let (rows, columns) = (weight.rows, weight.columns)
            #expect(weight.floats() == values)
            for (n, accumulate) in [(1, false), (3, false), (1, true), (3, true)] {
                let x = (0..<n * columns).map { _ in Float(random.next(below: 2001)) / 1000 - 1 }
                var y = [Float](repeating: accumulate ? 1 : 12_345, count: n * rows) // overwritten unless accumulating
                var scratch: [Float] = []
                weight.multiply(x, rows: n, into: &y, accumulate: accumulate, precision: .f32, scratch: &scratch)
                if accumulate { y = y.map { $0 - 1 } }
                let worst = Self.worstRelativeError(x, values, y, rows: n, outputs: rows, columns: columns)
                #expect(worst < 1e-5, "\(name), \(n) rows, accumulate \(accumulate): error \(worst) relative to Σ|x·w|")
            }
            var row = [Float](repeating: .nan, count: columns)
            weight.copyRow(rows - 1, to: &row)
            #expect(row == Array(values[(rows - 1) * columns ..< rows * columns]), "\(name): last row")
        }
    }

    /// The BF16, int8 and int4 products against exact sums, for one row (decode kernels) and several
    /// (blocked BF16 or int8 GEMM), on widths that are and are not multiples of the kernels' blocks: each stays within
    /// its bound relative to Σ|x·w| (BF16 activations: 2⁻⁸ per product; int8: weights and activations
    /// to 1/254 of their block's largest value; int4: weights to 1/16 of it).
    @Test(arguments: [(Qwen3VL.Precision.bf16, Qwen3VL.WeightFormat.bf16, 4e-3), (.f32, .int8, 2e-2), (.bf16, .int8, 2e-2),
                      (.f32, .int4, 0.1), (.bf16, .int4, 0.1)])
    func fastProductsStayWithinTheirBounds(precision: Qwen3VL.Precision, format: Qwen3VL.WeightFormat, bound: Double) throws {
        let seed: UInt64 = 11
        var random = SplitMix64(seed: seed)
        let shapes = [(70, 2048), (37, 1000), (5, 33), (1000, 2048)] // the last: int8 GEMM in several parts
        let folder = try TemporaryFolder()
        let url = try folder.write("w.safetensors", SafetensorsFile(tensors: shapes.enumerated().map { index, shape in
            .bits("w\(index)", dtype: "BF16", shape: [shape.0, shape.1], (0..<shape.0 * shape.1).map { _ in
                UInt16(0x3C00 + random.next(below: 0x0600)) ^ (random.next(below: 2) == 0 ? 0 : 0x8000)
            })
        }).bytes(headerPadding: 0))
        let file = try Qwen3VL.Safetensors(contentsOf: url)
        for (index, (rows, columns)) in shapes.enumerated() {
            let stored = Qwen3VL.Weight(try file.tensor(named: "w\(index)")) // BF16, in the mapping
            let weight = format.layers.map(stored.quantized) ?? stored
            let exactValues = stored.floats()
            for (n, accumulate) in [(1, false), (1, true), (29, false), (29, true)] {
                let x = (0..<n * columns).map { _ in Float(random.next(below: 2001)) / 1000 - 1 }
                var y = [Float](repeating: accumulate ? 1 : 12_345, count: n * rows)
                var scratch: [Float] = []
                if precision == .bf16, n > 1, format == .bf16 {
                    // The BF16 matrix product itself, which `multiply` leaves to sgemm where float32 FMA is faster.
                    #expect(weight.withMatrix { Qwen3VL.Kernels.gemmBF16($0, x, rows: n, &y, accumulate: accumulate) } == true)
                } else {
                    weight.multiply(x, rows: n, into: &y, accumulate: accumulate, precision: precision, scratch: &scratch)
                }
                if accumulate { y = y.map { $0 - 1 } }
                let worst = Self.worstRelativeError(x, exactValues, y, rows: n, outputs: rows, columns: columns)
                print("\(precision) products, \(format) weights, [\(rows), \(columns)] × \(n) rows: error \(worst) of Σ|x·w| (bound \(bound))")
                #expect(worst < bound, "seed \(seed): \(precision)/\(format) [\(rows), \(columns)], \(n) rows, accumulate \(accumulate): error \(worst)")
            }
        }
    }

    /// int4 rounds as llama.cpp's Q4_0 does: in each block of 32, the weight of largest magnitude comes
    /// back as exactly −8 · d, with d = F16(that weight / −8); every other weight is the nearest of
    /// d · [−8, 7] (within |d| / 2, or +7 · d where it lies beyond); a zero block stays zero. Widths
    /// with and without padding, bit patterns spanning 12 octaves.
    @Test func int4RoundsLikeQ4_0() throws {
        var random = SplitMix64(seed: 23)
        for (rows, columns) in [(9, 1000), (4, 512), (3, 33)] {
            let bits = (0..<rows * columns).map { index in
                index < columns ? 0 : UInt16(0x3C00 + random.next(below: 0x0600)) ^ (random.next(below: 2) == 0 ? 0 : 0x8000)
            } // row 0: zeros
            let folder = try TemporaryFolder()
            let url = try folder.write("w.safetensors", SafetensorsFile(tensors: [.bits("w", dtype: "BF16", shape: [rows, columns], bits)])
                .bytes(headerPadding: 0))
            let stored = Qwen3VL.Weight(try Qwen3VL.Safetensors(contentsOf: url).tensor(named: "w"))
            let exact = stored.floats(), rounded = stored.quantized(.int4).floats()
            for row in 0..<rows {
                for start in stride(from: 0, to: columns, by: 32) {
                    let block = (row * columns + start)..<(row * columns + min(start + 32, columns))
                    let extreme = exact[block].max { abs($0) < abs($1) }!
                    let d = Float(Float16(extreme / -8))
                    for i in block {
                        let expected = d == 0 ? 0 : exact[i] == extreme ? -8 * d : exact[i] / d > 7.5 ? 7 * d : exact[i]
                        let tolerance = d == 0 || exact[i] == extreme || exact[i] / d > 7.5 ? 0 : abs(d) / 2 * (1 + 1e-6)
                        #expect(abs(rounded[i] - expected) <= tolerance,
                                "[\(rows), \(columns)] row \(row) column \(i - row * columns): \(exact[i]) became \(rounded[i]), step \(d)")
                    }
                }
            }
        }
    }

    /// Decode multiplies a layer's q/k/v (and its gate/up) as one job: the stacked rows split over the
    /// cores, a part boundary inside the middle matrix, a row count that is not a multiple of 4. Each
    /// output must be bit for bit what that matrix's own product gives, and a mode the kernels do not
    /// cover (float32 products of BF16 weights) or matrices of different widths are declined untouched.
    @Test(arguments: [(Qwen3VL.Precision.bf16, Qwen3VL.WeightFormat.bf16), (.bf16, .int8), (.f32, .int8), (.bf16, .int4), (.f32, .int4)])
    func stackedVectorProductsEqualSeparateOnes(precision: Qwen3VL.Precision, format: Qwen3VL.WeightFormat) throws {
        var random = SplitMix64(seed: 5)
        let shapes = [(40, 2048), (600, 2048), (6, 2048), (8, 1024)]
        let folder = try TemporaryFolder()
        let url = try folder.write("w.safetensors", SafetensorsFile(tensors: shapes.enumerated().map { index, shape in
            .bits("w\(index)", dtype: "BF16", shape: [shape.0, shape.1], (0..<shape.0 * shape.1).map { _ in
                UInt16(0x3C00 + random.next(below: 0x0600)) ^ (random.next(below: 2) == 0 ? 0 : 0x8000)
            })
        }).bytes(headerPadding: 0))
        let file = try Qwen3VL.Safetensors(contentsOf: url)
        let weights = try shapes.indices.map { index in
            let stored = Qwen3VL.Weight(try file.tensor(named: "w\(index)"))
            return format.layers.map(stored.quantized) ?? stored
        }
        let x = (0..<2048).map { _ in Float(random.next(below: 2001)) / 1000 - 1 }
        var scratch: [Float] = []
        let separate = shapes.indices.prefix(3).map { index in
            var y = [Float](repeating: 0, count: shapes[index].0)
            weights[index].multiply(x, rows: 1, into: &y, precision: precision, scratch: &scratch)
            return y
        }
        var first = [Float](repeating: .nan, count: shapes[0].0), second = [Float](repeating: .nan, count: shapes[1].0)
        var third = [Float](repeating: .nan, count: shapes[2].0)
        let fused = first.withUnsafeMutableBufferPointer { y0 in
            second.withUnsafeMutableBufferPointer { y1 in
                third.withUnsafeMutableBufferPointer { y2 in
                    Qwen3VL.Weight.multiply(Array(weights.prefix(3)), vector: x, into: [y0.baseAddress!, y1.baseAddress!, y2.baseAddress!],
                                            precision: precision)
                }
            }
        }
        #expect(fused)
        for (index, output) in [first, second, third].enumerated() {
            #expect(output == separate[index], "\(precision)/\(format): matrix \(index) differs from its own product")
        }
        var untouched = [Float](repeating: .nan, count: 48)
        let mixed = untouched.withUnsafeMutableBufferPointer { y in
            Qwen3VL.Weight.multiply([weights[0], weights[3]], vector: x, into: [y.baseAddress!, y.baseAddress! + 40], precision: precision)
        }
        #expect(!mixed && untouched.allSatisfy(\.isNaN), "matrices of different widths must be declined")
        if format == .bf16 {
            let declined = untouched.withUnsafeMutableBufferPointer { y in
                Qwen3VL.Weight.multiply([weights[0]], vector: x, into: [y.baseAddress!], precision: .f32)
            }
            #expect(!declined && untouched.allSatisfy(\.isNaN), "float32 products of BF16 weights are not the BF16 kernel's")
        }
    }

    /// The largest error of `y = x · wᵀ` against the exact product in Double, relative to Σ|x·w| of its element.
    static func worstRelativeError(_ x: [Float], _ w: [Float], _ y: [Float], rows: Int, outputs: Int, columns: Int) -> Double {
        var worst: Double = 0
        for r in 0..<rows {
            for o in 0..<outputs {
                var exact: Double = 0, magnitude: Double = 0
                for k in 0..<columns {
                    let product = Double(x[r * columns + k]) * Double(w[o * columns + k])
                    exact += product
                    magnitude += abs(product)
                }
                worst = max(worst, abs(exact - Double(y[r * outputs + o])) / magnitude)
            }
        }
        return worst
    }

    // MARK: Configuration

    @Test func decodesTheReal4BConfig() throws {
        let config = try Qwen3VL.Configuration(contentsOf: Self.fixtures.appendingPathComponent("config.json"))
        let text = config.text
        #expect(text.hiddenSize == 2560 && text.intermediateSize == 9728 && text.numHiddenLayers == 36)
        #expect(text.numAttentionHeads == 32 && text.numKeyValueHeads == 8 && text.headDim == 128)
        #expect(text.rmsNormEps == 1e-6 && text.vocabSize == 151_936 && text.maxPositionEmbeddings == 262_144)
        #expect(text.ropeTheta == 5_000_000 && text.mropeSection == [24, 20, 20] && text.mropeInterleaved)
        #expect(config.tieWordEmbeddings)
        let vision = config.vision
        #expect(vision.depth == 24 && vision.hiddenSize == 1024 && vision.intermediateSize == 4096 && vision.numHeads == 16)
        #expect(vision.patchSize == 16 && vision.spatialMergeSize == 2 && vision.temporalPatchSize == 2)
        #expect(vision.outHiddenSize == 2560 && vision.deepstackVisualIndexes == [5, 11, 17])
        #expect(vision.numPositionEmbeddings == 2304 && vision.hiddenAct == .geluTanh)
        #expect(config.imageTokenID == 151_655 && config.videoTokenID == 151_656)
        #expect(config.visionStartTokenID == 151_652 && config.visionEndTokenID == 151_653)
    }

    @Test func decodesTheReal4BGenerationAndPreprocessorConfigs() throws {
        let generation = try Qwen3VL.GenerationConfig(contentsOf: Self.fixtures.appendingPathComponent("generation_config.json"))
        #expect(generation.eosTokenIDs == [151_645, 151_643] && generation.padTokenID == 151_643)
        #expect(generation.temperature == 0.7 && generation.topP == 0.8 && generation.topK == 20 && generation.doSample == true)
        let preprocessor = try Qwen3VL.PreprocessorConfig(contentsOf: Self.fixtures.appendingPathComponent("preprocessor_config.json"))
        #expect(preprocessor == Qwen3VL.PreprocessorConfig(
            minPixels: 65_536, maxPixels: 16_777_216, patchSize: 16, mergeSize: 2, temporalPatchSize: 2,
            imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5]))
    }

    /// Decoding a config file's bytes (what the fuzz target does) gives what reading the file gives.
    @Test func configBytesDecodeLikeTheFiles() throws {
        let url = { (name: String) in Self.fixtures.appendingPathComponent(name) }
        let config = url("config.json"), generation = url("generation_config.json"), preprocessor = url("preprocessor_config.json")
        #expect(try decodeConfig(Qwen3VL.Configuration.self, from: Data(contentsOf: config), path: config.path) == Qwen3VL.Configuration(contentsOf: config))
        #expect(try decodeConfig(Qwen3VL.GenerationConfig.self, from: Data(contentsOf: generation), path: generation.path)
            == Qwen3VL.GenerationConfig(contentsOf: generation))
        #expect(try decodeConfig(Qwen3VL.PreprocessorConfig.self, from: Data(contentsOf: preprocessor), path: preprocessor.path)
            == Qwen3VL.PreprocessorConfig(contentsOf: preprocessor))
        let error = #expect(throws: Qwen3VL.WeightsError.self) {
            try decodeConfig(Qwen3VL.Configuration.self, from: Data(#"{"model_type": "qwen3_vl"}"#.utf8), path: "/models/x/config.json")
        }
        #expect(error?.message == "/models/x/config.json: missing key text_config")
    }

    @Test func transformersV5RopeParametersDecodeLikeV4RopeScaling() throws {
        let folder = try TemporaryFolder()
        let v4 = try Qwen3VL.Configuration(contentsOf: Self.fixtures.appendingPathComponent("config.json"))
        var json = try Self.realConfigJSON()
        var text = json["text_config"] as! [String: Any]
        var rope = text.removeValue(forKey: "rope_scaling") as! [String: Any]
        rope["rope_theta"] = text.removeValue(forKey: "rope_theta")
        text["rope_parameters"] = rope
        json["text_config"] = text
        json["tie_word_embeddings"] = nil  // now only inside text_config
        let v5 = try Qwen3VL.Configuration(contentsOf: folder.writeJSON("config.json", json))
        #expect(v5 == v4)
    }

    @Test func everyActivationSpellingDecodesAndAnUnknownOneNamesTheFile() throws {
        let folder = try TemporaryFolder()
        var json = try Self.realConfigJSON()
        var vision = json["vision_config"] as! [String: Any]
        let spellings: [(String, Qwen3VL.Activation)] = [("gelu_pytorch_tanh", .geluTanh), ("gelu_new", .geluTanh), ("gelu_fast", .geluTanh),
                                                         ("gelu", .gelu), ("silu", .silu)]
        for (name, activation) in spellings {
            vision["hidden_act"] = name
            json["vision_config"] = vision
            #expect(try Qwen3VL.Configuration(contentsOf: folder.writeJSON("config.json", json)).vision.hiddenAct == activation, "\(name)")
        }
        vision["hidden_act"] = "relu"
        json["vision_config"] = vision
        let url = try folder.writeJSON("config.json", json)
        let error = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.Configuration(contentsOf: url) }
        #expect(error?.message == "\(url.path): unsupported vision hidden_act relu")
    }

    @Test func otherSpellingsOfGenerationAndPreprocessorKeys() throws {
        let folder = try TemporaryFolder()
        let generation = try Qwen3VL.GenerationConfig(contentsOf: folder.writeJSON("g.json", ["eos_token_id": 151_645]))
        #expect(generation.eosTokenIDs == [151_645] && generation.temperature == nil)
        let preprocessor = try Qwen3VL.PreprocessorConfig(
            contentsOf: folder.writeJSON("p.json", ["min_pixels": 3136, "max_pixels": 12_845_056, "patch_size": 14]))
        #expect(preprocessor.minPixels == 3136 && preprocessor.maxPixels == 12_845_056 && preprocessor.patchSize == 14)
        #expect(preprocessor.mergeSize == 2 && preprocessor.imageMean == [0.5, 0.5, 0.5])
    }

    @Test func wrongModelTypeIsAClearError() throws {
        let folder = try TemporaryFolder()
        var json = try Self.realConfigJSON()
        json["model_type"] = "qwen2_5_vl"
        let url = try folder.writeJSON("config.json", json)
        let error = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.Configuration(contentsOf: url) }
        #expect(error?.code == .wrongModelType)
        #expect(error?.message.contains("config.json") == true && error?.message.contains("qwen2_5_vl") == true)
    }

    @Test func missingRequiredKeyNamesItsPath() throws {
        let folder = try TemporaryFolder()
        var json = try Self.realConfigJSON()
        var text = json["text_config"] as! [String: Any]
        text["hidden_size"] = nil
        json["text_config"] = text
        let url = try folder.writeJSON("config.json", json)
        let error = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.Configuration(contentsOf: url) }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains("text_config.hidden_size") == true)

        let garbage = try folder.write("bad.json", Array("{not json".utf8))
        let garbageError = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.Configuration(contentsOf: garbage) }
        #expect(garbageError?.message.contains("bad.json") == true)
    }

    // MARK: Model folders

    @Test func shardedFolderFindsTensorsAcrossShards() throws {
        let folder = try TemporaryFolder()
        try folder.copyFixture("config.json")
        try folder.copyFixture("generation_config.json")
        _ = try folder.write("model-00001-of-00002.safetensors", SafetensorsFile(tensors: [
            .f32("model.language_model.norm.weight", shape: [2], [1, 2]),
            .bits("lm_head.weight", dtype: "BF16", shape: [1, 2], [0x3F80, 0x4000]),
        ]).bytes())
        _ = try folder.write("model-00002-of-00002.safetensors", SafetensorsFile(tensors: [
            .bits("model.visual.pos_embed.weight", dtype: "F16", shape: [2, 1], [0x3C00, 0x4200]),
        ]).bytes())
        _ = try folder.writeJSON(Qwen3VL.ModelFolder.indexFileName, ["metadata": ["total_size": 18], "weight_map": [
            "model.language_model.norm.weight": "model-00001-of-00002.safetensors",
            "lm_head.weight": "model-00001-of-00002.safetensors",
            "model.visual.pos_embed.weight": "model-00002-of-00002.safetensors",
        ]])
        let model = try Qwen3VL.ModelFolder(contentsOf: folder.url)
        #expect(model.configuration.text.hiddenSize == 2560)
        #expect(model.generation?.eosTokenIDs == [151_645, 151_643])
        #expect(model.preprocessor == Qwen3VL.PreprocessorConfig())  // no file: release defaults
        #expect(model.tensorNames.count == 3)
        #expect(try model.tensor(named: "model.language_model.norm.weight").floats() == [1, 2])
        #expect(try model.expect("lm_head.weight", shape: [1, 2]).floats() == [1, 2])
        #expect(try model.expect("model.visual.pos_embed.weight", shape: [2, 1]).floats() == [1, 3])

        let wrongShape = #expect(throws: Qwen3VL.WeightsError.self) { try model.expect("lm_head.weight", shape: [2, 1]) }
        #expect(wrongShape?.code == .shapeMismatch && wrongShape?.message.contains("lm_head.weight") == true)
        let missing = #expect(throws: Qwen3VL.WeightsError.self) { try model.tensor(named: "model.visual.merger.norm.weight") }
        #expect(missing?.code == .missingTensor && missing?.message.contains("model.visual.merger.norm.weight") == true)
    }

    @Test func singleFileFolder() throws {
        let folder = try TemporaryFolder()
        try folder.copyFixture("config.json")
        _ = try folder.write(Qwen3VL.ModelFolder.singleFileName, SafetensorsFile(tensors: [.f32("w", shape: [1], [4])]).bytes())
        let model = try Qwen3VL.ModelFolder(contentsOf: folder.url)
        #expect(model.generation == nil)
        #expect(try model.expect("w", shape: [1]).floats() == [4])
    }

    @Test func badIndexEntriesAreErrors() throws {
        let folder = try TemporaryFolder()
        try folder.copyFixture("config.json")
        _ = try folder.write("a.safetensors", SafetensorsFile(tensors: [.f32("w", shape: [1], [4])]).bytes())
        func open(_ weightMap: [String: String]) throws -> Qwen3VL.WeightsError? {
            _ = try folder.writeJSON(Qwen3VL.ModelFolder.indexFileName, ["weight_map": weightMap])
            return #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.ModelFolder(contentsOf: folder.url) }
        }
        let notInShard = try open(["w": "a.safetensors", "v": "a.safetensors"])
        #expect(notInShard?.code == .missingTensor && notInShard?.message.contains("v is listed in a.safetensors") == true)
        let noShard = try open(["w": "b.safetensors"])
        #expect(noShard?.code == .io && noShard?.message.contains("b.safetensors") == true)
        let escaping = try open(["w": "../a.safetensors"])
        #expect(escaping?.code == .invalidConfig)

        try FileManager.default.removeItem(at: folder.url.appendingPathComponent(Qwen3VL.ModelFolder.indexFileName))
        let noWeights = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.ModelFolder(contentsOf: folder.url) }
        #expect(noWeights?.message.contains("no model.safetensors") == true)
    }

    // MARK: Damaged files

    @Test func everyTruncationIsAnError() throws {
        let folder = try TemporaryFolder()
        let bytes = SafetensorsFile(tensors: [.f32("a", shape: [3], [1, 2, 3]), .bits("b", dtype: "BF16", shape: [2], [1, 2])]).bytes()
        for cut in 0..<bytes.count {
            let url = try folder.write("cut.safetensors", Array(bytes[..<cut]))
            let error = #expect(throws: Qwen3VL.WeightsError.self, "cut at \(cut)") { try Qwen3VL.Safetensors(contentsOf: url) }
            #expect(error?.message.contains("cut.safetensors") == true)
        }
    }

    /// The bytes of a file already in memory (what the fuzz target reads) give the same tensors, values
    /// and errors as the file, at every length; releasing a tensor's pages leaves bytes in memory alone.
    @Test func bytesInMemoryReadLikeTheFile() throws {
        let folder = try TemporaryFolder()
        let bytes = SafetensorsFile(tensors: [.f32("a", shape: [3], [1, 2, 3]), .bits("b", dtype: "BF16", shape: [2], [0x3F80, 0xC000])],
                                    metadata: ["format": "pt"]).bytes(headerPadding: 1)
        for cut in 0...bytes.count {
            let url = try folder.write("cut.safetensors", Array(bytes[..<cut]))
            let fromFile = Result { try Qwen3VL.Safetensors(contentsOf: url) }
            let fromMemory = Result { try Qwen3VL.Safetensors(bytes: bytes[..<cut], url: url) }
            switch (fromFile, fromMemory) {
            case (.success(let file), .success(let memory)):
                #expect(memory.names == file.names && memory.metadata == file.metadata)
                for name in file.names { #expect(try memory.tensor(named: name).floats() == file.tensor(named: name).floats()) }
            case (.failure(let fileError), .failure(let memoryError)):
                // Which of two bad tensors is named first follows the header's dictionary order, which varies.
                let (file, memory) = (fileError as? Qwen3VL.WeightsError, memoryError as? Qwen3VL.WeightsError)
                #expect(memory?.code == file?.code && memory?.message.hasPrefix(url.path + ": ") == true, "cut at \(cut): \(memoryError) for \(fileError)")
            default:
                Issue.record("cut at \(cut): the file gives \(fromFile), the bytes \(fromMemory)")
            }
        }
        let values = (0..<8192).map { Float($0) }  // several whole pages
        let large = SafetensorsFile(tensors: [.f32("large", shape: [values.count], values)]).bytes()
        let view = try Qwen3VL.Safetensors(bytes: large, url: folder.url.appendingPathComponent("large.safetensors")).tensor(named: "large")
        view.releasePages()
        #expect(view.floats() == values)
    }

    @Test(arguments: [
        // (header, expected code, words the message must contain)
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "header length", "exceeds"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,#"#, "invalid safetensors header", "not valid JSON"),
        (#"[1,2,3]"#, "invalid safetensors header", "not a JSON object"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, "invalid safetensors header", "outside"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,4]}}"#, "invalid safetensors header", "outside"),
        (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, "shape mismatch", "tensor a"),
        (#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#, "unsupported dtype", "tensor a has dtype I32"),
        (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, "invalid safetensors header", "shape"),
        (#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, "invalid safetensors header", "shape"),
        (#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,8]}}"#, "invalid safetensors header", "shape"),
        (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, "invalid safetensors header", "too large"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, "invalid safetensors header", "data_offsets"),
        (#"{"a":{"dtype":"F32","shape":[2]}}"#, "invalid safetensors header", "data_offsets"),
        (#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, "invalid safetensors header", "dtype"),
        (#"{"a":[]}"#, "invalid safetensors header", "not a JSON object"),
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
         "invalid safetensors header", "overlap"),
        (#"{"__metadata__":{"format":1}}"#, "invalid safetensors header", "__metadata__"),
    ])
    func damagedHeaderIsAnError(header: String, code: String, words: String) throws {
        let folder = try TemporaryFolder()
        var bytes = Array(header.utf8)
        // The first case declares a header longer than the whole file.
        let declared = code == "header length" ? UInt64(bytes.count + 100) : UInt64(bytes.count)
        bytes = withUnsafeBytes(of: declared.littleEndian, Array.init) + bytes + Array(repeating: 0, count: 8)
        let url = try folder.write("bad.safetensors", bytes)
        let error = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.Safetensors(contentsOf: url) }
        let expectedCode = code == "header length" ? "truncated file" : code
        #expect(error?.code.description == expectedCode, "\(error?.message ?? "")")
        #expect(error?.message.contains(words) == true && error?.message.contains("bad.safetensors") == true, "\(error?.message ?? "")")
    }

    @Test func missingTensorNamesIt() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write("x.safetensors", SafetensorsFile(tensors: [.f32("x", shape: [1], [1])]).bytes())
        let error = #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.Safetensors(contentsOf: url).tensor(named: "y") }
        #expect(error?.code == .missingTensor && error?.message.contains("no tensor named y") == true)
    }

    @Test func randomMutationsNeverCrash() throws {
        let folder = try TemporaryFolder()
        let valid = SafetensorsFile(tensors: [
            .f32("a", shape: [2, 2], [1, 2, 3, 4]),
            .bits("b", dtype: "BF16", shape: [3], [0x3F80, 1, 2]),
            .bits("c", dtype: "F16", shape: [1], [0x3C00]),
        ], metadata: ["format": "pt"]).bytes()
        let headerEnd = 8 + Int(valid[0])
        var random = SplitMix64(seed: 0x5EED)
        var opened = 0
        for round in 0..<2000 {
            var bytes = valid
            for _ in 0...random.next(below: 3) {
                // Nine mutations in ten land in the length field or the header JSON.
                let limit = random.next(below: 10) == 0 ? bytes.count : min(headerEnd, bytes.count)
                let at = random.next(below: max(limit, 1))
                switch random.next(below: 3) {
                case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1 << random.next(below: 8))
                case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next(below: 256)), at: min(at, bytes.count))
                default: if !bytes.isEmpty { bytes.remove(at: at) }
                }
            }
            let url = try folder.write("fuzz.safetensors", bytes)
            do {
                let file = try Qwen3VL.Safetensors(contentsOf: url)
                for name in file.names {
                    let view = try file.tensor(named: name)
                    #expect(view.floats().count == view.elementCount, "round \(round)")
                }
                opened += 1
            } catch let error as Qwen3VL.WeightsError {
                #expect(!error.message.isEmpty)
            }
        }
        #expect(opened > 0 && opened < 2000)
    }

    // MARK: Helpers

    static let fixtures = Repository.fixtures.appendingPathComponent("Qwen3VLConfig")

    static func realConfigJSON() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("config.json"))) as! [String: Any]
    }
}

/// Builds a safetensors file in memory: tensors are laid out back to back in the order given.
private struct SafetensorsFile {
    struct Tensor {
        let name: String
        let dtype: String
        let shape: [Int]
        let data: [UInt8]

        static func f32(_ name: String, shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(name: name, dtype: "F32", shape: shape, data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        }

        /// A 16-bit tensor (F16 or BF16) from raw bit patterns.
        static func bits(_ name: String, dtype: String, shape: [Int], _ values: [UInt16]) -> Tensor {
            Tensor(name: name, dtype: dtype, shape: shape, data: values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
        }
    }

    var tensors: [Tensor]
    var metadata: [String: String] = [:]

    /// The file's bytes; `headerPadding` trailing spaces in the header JSON shift the data section.
    func bytes(headerPadding: Int = 0) -> [UInt8] {
        var entries: [String] = []
        var offset = 0
        for tensor in tensors {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(#""\#(tensor.name)":{"dtype":"\#(tensor.dtype)","shape":[\#(shape)],"data_offsets":[\#(offset),\#(offset + tensor.data.count)]}"#)
            offset += tensor.data.count
        }
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { #""\#($0.key)":"\#($0.value)""# }
            entries.insert(#""__metadata__":{\#(pairs.joined(separator: ","))}"#, at: 0)
        }
        let header = Array(("{" + entries.joined(separator: ",") + "}" + String(repeating: " ", count: headerPadding)).utf8)
        return withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + tensors.flatMap(\.data)
    }
}

/// A fresh directory under the system temporary directory, removed when the value is deinitialized.
private final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("qwen3vl-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file
    }

    func writeJSON(_ name: String, _ object: Any) throws -> URL {
        try write(name, Array(JSONSerialization.data(withJSONObject: object)))
    }

    func copyFixture(_ name: String) throws {
        try FileManager.default.copyItem(at: WeightsTests.fixtures.appendingPathComponent(name), to: url.appendingPathComponent(name))
    }
}

/// A small seeded generator so a fuzz failure reproduces.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
