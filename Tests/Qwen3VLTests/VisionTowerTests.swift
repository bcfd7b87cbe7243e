import Foundation
import Imaging
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// `Qwen3VL.VisionTower` against transformers 5.23's `Qwen3VLVisionModel` for the tiny random-weight
/// checkpoint `Fixtures/Golden/tiny-tied` (made by `Fixtures/Golden/vision/make_vision_golden.py`):
/// processor images 0–2 (grids 4×6, 6×4, 20×14; the last has 280 patches, so attention runs in
/// several query blocks). The reference ran all three packed in one call; here each is encoded alone,
/// which also checks that attention stays inside each image.
@Suite("Qwen3-VL VisionTower matches transformers")
struct VisionTowerTests {
    static let golden = Repository.fixtures.appendingPathComponent("Golden")
    static let folder = golden.appendingPathComponent("vision")

    static func floats(_ name: String) throws -> [Float] {
        try readFloat32(folder.appendingPathComponent(name))
    }

    static func cases() throws -> [[String: Any]] {
        let data = try Data(contentsOf: folder.appendingPathComponent("vision-golden.json"))
        let json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(json["cases"] as? [[String: Any]])
    }

    static let processor = Qwen3VL.ImageProcessor(config: Qwen3VL.PreprocessorConfig(), minPixels: 1024, maxPixels: 1_048_576)

    static func tower() throws -> Qwen3VL.VisionTower {
        try Qwen3VL.VisionTower(folder: Qwen3VL.ModelFolder(contentsOf: golden.appendingPathComponent("tiny-tied")), precision: .f32)
    }

    /// max |a − b| / max |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        var diff: Float = 0, scale: Float = 0
        for i in b.indices { diff = max(diff, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        return diff / max(scale, .leastNormalMagnitude)
    }

    @Test(arguments: 0..<3)
    func featuresMatch(index: Int) async throws {
        let entry = try Self.cases()[index]
        let image = try PNG.read(from: Self.golden.appendingPathComponent("processor").appendingPathComponent(try #require(entry["image"] as? String)))
        let (grid, features, deepstack) = try await onOwnThread {
            let (pixels, grid) = Self.processor.process(image)
            let (features, deepstack) = try Self.tower().encode(pixelValues: pixels, grid: grid)
            return (grid, features, deepstack)
        }
        #expect([grid.t, grid.h, grid.w] == (entry["grid_thw"] as? [Int]))
        let expected = try Self.floats(try #require(entry["features"] as? String))
        #expect(features.count == expected.count)
        guard features.count == expected.count else { return }
        let error = Self.relativeError(features, expected)
        let names = try #require(entry["deepstack"] as? [String])
        #expect(deepstack.count == names.count)
        var deepstackErrors: [Float] = []
        for (tap, name) in zip(deepstack, names) {
            let reference = try Self.floats(name)
            #expect(tap.count == reference.count)
            guard tap.count == reference.count else { continue }
            deepstackErrors.append(Self.relativeError(tap, reference))
        }
        print("VisionTower case \(index) grid \(grid): features max|diff|/max|ref| \(error), deepstack \(deepstackErrors)")
        #expect(error < 1e-4)
        for e in deepstackErrors { #expect(e < 1e-4) }
    }

    /// Different image sizes give grid_h·grid_w/4 tokens, in features and every DeepStack tap.
    @Test func tokenCountsFollowTheGrid() throws {
        let tower = try Self.tower()
        for (width, height) in [(64, 32), (96, 160)] {
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for i in pixels.indices { pixels[i] = UInt8((i * 37) % 251) }
            let (values, grid) = Self.processor.process(RGBImage(width: width, height: height, pixels: pixels))
            #expect(grid.t == 1 && grid.h == height / 16 && grid.w == width / 16)
            let (features, deepstack) = tower.encode(pixelValues: values, grid: grid)
            let tokens = grid.h * grid.w / 4
            #expect(grid.tokens == tokens)
            #expect(features.count == tokens * tower.config.outHiddenSize)
            #expect(deepstack.count == tower.config.deepstackVisualIndexes.count)
            for tap in deepstack { #expect(tap.count == tokens * tower.config.outHiddenSize) }
            #expect(features.allSatisfy { $0.isFinite })
        }
    }
}
