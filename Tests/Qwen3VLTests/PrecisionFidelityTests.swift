import Foundation
import Imaging
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// Each faster mode against float32 on the golden checkpoints: the largest logit difference relative to
/// the largest float32 logit, and how many of 64 greedy tokens agree with float32's. The measured values
/// and their bounds are printed. Agreement is counted with float32's tokens fed to every mode (teacher
/// forcing): the tiny random checkpoints' logits are nearly flat, so free-running greedy text parts
/// ways at the first near-tie. On a CPU without AVX512_BF16 only the f32 int8 mode runs, and bf16 must
/// refuse to load.
@Suite("Faster modes stay close to float32")
struct PrecisionFidelityTests {
    struct Mode: CustomStringConvertible, Sendable {
        let precision: Qwen3VL.Precision
        let weights: Qwen3VL.WeightFormat
        let bounds: Bounds
        /// Looser bounds for the tiny checkpoints, where they differ: their rows are 32 wide, so an int4
        /// row is one block of 16 levels and nothing averages its rounding out.
        var tinyBounds: Bounds?
        var description: String { "\(precision) precision, \(weights) weights" }

        func bounds(tiny: Bool) -> Bounds { tiny ? tinyBounds ?? bounds : bounds }
    }

    /// Largest |Δlogit| / max |logit| allowed, and fewest of 64 greedy tokens that must match.
    struct Bounds: Sendable {
        let logit: Float
        let agreement: Int
    }

    static let modes = [
        Mode(precision: .bf16, weights: .bf16, bounds: Bounds(logit: 0.06, agreement: 56)),
        Mode(precision: .f32, weights: .int8, bounds: Bounds(logit: 0.25, agreement: 52)),
        Mode(precision: .bf16, weights: .int8, bounds: Bounds(logit: 0.25, agreement: 52)),
        // int4 in bf16 precision only: its products are the int8 kernels' in either precision, and each
        // mode of the realistic-width checkpoint costs the parallel suite about a minute of CPU.
        Mode(precision: .bf16, weights: .int4, bounds: Bounds(logit: 0.3, agreement: 58), tinyBounds: Bounds(logit: 2, agreement: 10)),
    ]

    static let golden = TextModelGoldenTests.golden

    /// Float32's 64 greedy tokens after `prompt`.
    static func greedy(_ model: Qwen3VL.TextModel, _ prompt: [Int32], visual: Qwen3VL.VisualInput? = nil,
                       grids: [Qwen3VL.Grid] = []) -> [Int32] {
        var options = Qwen3VL.SamplingOptions()
        options.maxNewTokens = 64
        options.temperature = 0
        options.stopTokens = []
        return Qwen3VL.Generator(model: model).generate(prompt, visual: visual, imageGrids: grids, options: options)
    }

    /// The logits before each of `tokens`: the prompt's last (prefill), then one decode step per token
    /// fed, as generation computes them (teacher forcing: every mode sees float32's tokens, so one
    /// early difference does not make all later positions differ).
    static func logits(_ model: Qwen3VL.TextModel, _ prompt: [Int32], positions: [[Int]], delta: Int = 0, visual: Qwen3VL.VisualInput? = nil,
                       following tokens: [Int32]) -> [[Float]] {
        let cache = Qwen3VL.KVCache(config: model.config, capacity: prompt.count + tokens.count, precision: model.precision)
        let workspace = Qwen3VL.Workspace(config: model.config)
        model.forward(prompt, positions: positions, cache: cache, workspace: workspace, visual: visual)
        var result = [workspace.logits]
        for token in tokens.dropLast() {
            let position = cache.count + delta
            model.forward([token], positions: [[position, position, position]], cache: cache, workspace: workspace)
            result.append(workspace.logits)
        }
        return result
    }

    /// One mode measured against float32.
    struct Measured: Sendable {
        let mode: Mode
        /// The largest |Δlogit| relative to the largest float32 logit.
        let error: Float
        /// Positions where the mode's argmax is float32's token, of `tokens`.
        let agreement: Int
        let tokens: Int
    }

    /// Over float32's 64 greedy tokens: the largest |Δlogit| relative to the largest float32 logit, and
    /// at how many positions the mode's argmax is float32's token.
    static func measure(_ mode: Mode, reference: [[Float]], fast: [[Float]], tokens: [Int32]) -> Measured {
        var error: Float = 0, agreement = 0
        for (position, (expected, actual)) in zip(reference, fast).enumerated() {
            var scale: Float = 0, difference: Float = 0, best = 0
            for i in expected.indices {
                scale = max(scale, abs(expected[i]))
                difference = max(difference, abs(actual[i] - expected[i]))
                if actual[i] > actual[best] { best = i }
            }
            error = max(error, difference / scale)
            if best == Int(tokens[position]) { agreement += 1 }
        }
        return Measured(mode: mode, error: error, agreement: agreement, tokens: tokens.count)
    }

    /// Checks and prints each mode's measurements against its bounds (the tiny checkpoints' with `tiny`).
    static func check(_ label: String, _ results: [Measured], tiny: Bool) {
        for result in results {
            let mode = result.mode, bounds = mode.bounds(tiny: tiny)
            print("\(label), \(mode): max |Δlogit| / max |logit| = \(result.error) (bound \(bounds.logit)); greedy: \(result.agreement) of \(result.tokens) tokens agree with float32 (bound \(bounds.agreement))")
            #expect(result.error < bounds.logit, "\(label), \(mode): relative logit error \(result.error)")
            #expect(result.agreement >= bounds.agreement, "\(label), \(mode): \(result.agreement) greedy tokens agree")
        }
    }

    /// One prompt of a model in float32 and in every supported mode (`load` makes the model for a
    /// mode), computed on a thread of its own and checked here.
    static func compare(_ label: String, prompt: [Int32], tiny: Bool,
                        load: @escaping @Sendable (Qwen3VL.Precision, Qwen3VL.WeightFormat) throws -> Qwen3VL.TextModel) async throws {
        let results = try await onOwnThread {
            let reference = try load(.f32, .bf16)
            let tokens = greedy(reference, prompt), positions = prompt.indices.map { [$0, $0, $0] }
            let expected = logits(reference, prompt, positions: positions, following: tokens)
            return try modes.filter(\.precision.isSupported).map { mode in
                measure(mode, reference: expected, fast: logits(try load(mode.precision, mode.weights), prompt, positions: positions, following: tokens),
                        tokens: tokens)
            }
        }
        check(label, results, tiny: tiny)
    }

    @Test func bf16ModesNeedAVX512BF16() throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent("tiny-tied"))
        if Qwen3VL.Precision.bf16.isSupported {
            #expect(try Qwen3VL.TextModel(folder: folder, precision: .bf16).precision == .bf16)
            #expect(Qwen3VL.Precision.fastest == .bf16)
        } else {
            #expect(throws: Qwen3VL.WeightsError.self) { try Qwen3VL.TextModel(folder: folder, precision: .bf16) }
            #expect(Qwen3VL.Precision.fastest == .f32)
        }
    }

    /// The first golden prompt of each tiny checkpoint.
    @Test(arguments: ["tiny-tied", "tiny-untied"])
    func textCheckpoints(model name: String) async throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent(name))
        let prompt = try #require(try TextModelGoldenTests.prompts(name).first).inputIDs
        try await Self.compare(name, prompt: prompt, tiny: true) { try Qwen3VL.TextModel(folder: folder, precision: $0, weights: $1) }
    }

    @Test func realisticWidth() async throws {
        let golden = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: RealisticWidthGoldenTests.folder.appendingPathComponent("golden.json"))) as? [String: Any])
        let order = golden["weight_order"] as? [String] ?? []
        let prompt = try #require((golden["prompts"] as? [[String: Any]])?.first?["input_ids"] as? [Int]).map(Int32.init)
        try await Self.compare("realistic", prompt: prompt, tiny: false) { precision, format in
            try RealisticWidthGoldenTests.model(weightOrder: order, precision: precision, weights: format)
        }
    }

    @Test func withAnImage() async throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent("tiny-tied"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.golden.appendingPathComponent("multimodal/multimodal-golden.json"))) as? [String: Any])
        let image = try PNG.read(from: Self.golden.appendingPathComponent("processor/image-0.png"))
        let ids = (json["input_ids"] as? [Int] ?? []).map(Int32.init)
        let results = try await onOwnThread {
            let (pixels, grid) = Qwen3VL.ImageProcessor(config: folder.preprocessor, minPixels: 1024, maxPixels: 1_048_576).process(image)
            let (positions, delta) = Qwen3VL.positionIDs(for: ids, imageGrids: [grid], imagePad: Int32(folder.configuration.imageTokenID))
            func load(_ precision: Qwen3VL.Precision, _ format: Qwen3VL.WeightFormat) throws -> (Qwen3VL.TextModel, Qwen3VL.VisualInput) {
                let (features, deepstack) = try Qwen3VL.VisionTower(folder: folder, precision: precision, weights: format)
                    .encode(pixelValues: pixels, grid: grid)
                return (try Qwen3VL.TextModel(folder: folder, precision: precision, weights: format),
                        Qwen3VL.VisualInput(embeddings: features, deepstack: deepstack))
            }
            let (reference, referenceVisual) = try load(.f32, .bf16)
            let tokens = Self.greedy(reference, ids, visual: referenceVisual, grids: [grid])
            let expected = Self.logits(reference, ids, positions: positions, delta: delta, visual: referenceVisual, following: tokens)
            return try Self.modes.filter(\.precision.isSupported).map { mode in
                let (fast, fastVisual) = try load(mode.precision, mode.weights)
                return Self.measure(mode, reference: expected,
                                    fast: Self.logits(fast, ids, positions: positions, delta: delta, visual: fastVisual, following: tokens), tokens: tokens)
            }
        }
        Self.check("tiny-tied with an image", results, tiny: true)
    }
}
