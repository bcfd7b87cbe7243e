import Foundation
import Imaging
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// A prompt with an image, end to end: image processor → vision tower → multimodal prefill (image rows,
/// 3-stream MRoPE, DeepStack) → logits and greedy tokens, against transformers on the tiny checkpoint.
@Suite("Qwen3-VL with an image matches transformers")
struct MultimodalGoldenTests {
    static let golden = Repository.fixtures.appendingPathComponent("Golden")

    @Test func logitsAndGreedyTokensMatch() async throws {
        let folder = try Qwen3VL.ModelFolder(contentsOf: Self.golden.appendingPathComponent("tiny-tied"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.golden.appendingPathComponent("multimodal/multimodal-golden.json"))) as? [String: Any])
        let image = try PNG.read(from: Self.golden.appendingPathComponent("processor/image-0.png"))
        let ids = (json["input_ids"] as? [Int] ?? []).map(Int32.init)
        let (grid, logits, tokens) = try await onOwnThread {
            let processor = Qwen3VL.ImageProcessor(config: folder.preprocessor, minPixels: 1024, maxPixels: 1_048_576)
            let (pixels, grid) = processor.process(image)
            let (features, deepstack) = try Qwen3VL.VisionTower(folder: folder, precision: .f32).encode(pixelValues: pixels, grid: grid)
            let visual = Qwen3VL.VisualInput(embeddings: features, deepstack: deepstack)
            let model = try Qwen3VL.TextModel(folder: folder, precision: .f32)
            let (positions, _) = Qwen3VL.positionIDs(for: ids, imageGrids: [grid], imagePad: model.imagePad)
            let cache = Qwen3VL.KVCache(config: model.config, capacity: ids.count)
            let workspace = Qwen3VL.Workspace(config: model.config)
            model.forward(ids, positions: positions, cache: cache, workspace: workspace, visual: visual)
            var options = Qwen3VL.SamplingOptions()
            options.maxNewTokens = 8
            options.temperature = 0
            options.stopTokens = []
            return (grid, workspace.logits, Qwen3VL.Generator(model: model).generate(ids, visual: visual, imageGrids: [grid], options: options))
        }
        #expect([grid.t, grid.h, grid.w] == json["grid_thw"] as? [Int])
        let expected = try readFloat32(Self.golden.appendingPathComponent("multimodal/logits.f32"))
        let scale = expected.map(abs).max() ?? 1
        let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst / scale < 1e-4, "max |Δlogit| \(worst) against a scale of \(scale)")
        print("Multimodal grid \(grid), \(ids.count) tokens: max |Δlogit| \(worst) at a logit scale of \(scale)")
        #expect(tokens == (json["greedy_new_ids"] as? [Int] ?? []).map(Int32.init))
    }
}
