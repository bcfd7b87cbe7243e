import Foundation
import Imaging
import Qwen3VL
import Qwen3VLPrompt
import Testing
import TestSupportCore

/// `Qwen3VL.ImageProcessor` against transformers 5.23's default Qwen3-VL image processor (torchvision
/// backend: uint8 bicubic antialiased resize, fused normalise, patchify), made by
/// `Fixtures/Golden/processor/make_processor_golden.py` with min_pixels 1024 / max_pixels 1048576.
@Suite("Qwen3-VL image processor matches transformers")
struct ImageProcessorTests {
    static let folder = Repository.fixtures.appendingPathComponent("Golden/processor")

    static func golden() throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("processor-golden.json"))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func floats(_ name: String) throws -> [Float] {
        try readFloat32(folder.appendingPathComponent(name))
    }

    static let processor = Qwen3VL.ImageProcessor(config: Qwen3VL.PreprocessorConfig(), minPixels: 1024, maxPixels: 1_048_576)

    /// Reference pixel values for case `index`: raw float32, or the reference's resized uint8 image
    /// (stored as PNG to keep the fixture small) patchified — the patch layout itself is checked bit
    /// for bit by the float32 cases.
    static func reference(_ entry: [String: Any]) throws -> [Float] {
        let name = try #require(entry["pixel_values"] as? String)
        if name.hasSuffix(".f32") { return try floats(name) }
        let resized = try PNG.read(from: folder.appendingPathComponent(name))
        let unscaled = Qwen3VL.ImageProcessor(config: Qwen3VL.PreprocessorConfig(), minPixels: 1, maxPixels: Int.max)
        #expect(unscaled.smartResize(height: resized.height, width: resized.width) == resized.size)
        return unscaled.process(resized).pixelValues
    }

    @Test(arguments: 0..<5)
    func pixelValuesMatch(index: Int) throws {
        let cases = try #require(Self.golden()["cases"] as? [[String: Any]])
        let entry = cases[index]
        let image = try PNG.read(from: Self.folder.appendingPathComponent(try #require(entry["image"] as? String)))
        #expect(image.height == entry["height"] as? Int && image.width == entry["width"] as? Int)
        let (values, grid) = Self.processor.process(image)
        let expectedGrid = try #require(entry["grid_thw"] as? [Int])
        #expect([grid.t, grid.h, grid.w] == expectedGrid)
        #expect(Self.processor.smartResize(height: image.height, width: image.width)
            == Size(width: try #require(entry["resized_width"] as? Int), height: try #require(entry["resized_height"] as? Int)))
        let reference = try Self.reference(entry)
        #expect(values.count == reference.count)
        #expect(values.count == grid.t * grid.h * grid.w * 1536)
        guard values.count == reference.count else { return }
        var maxDiff: Float = 0
        var differing = 0
        for i in values.indices {
            let d = abs(values[i] - reference[i])
            maxDiff = max(maxDiff, d)
            if d > 0 { differing += 1 }
        }
        print("ImageProcessor case \(index) \(image.width)x\(image.height) -> grid \(grid): max |diff| \(maxDiff), \(differing)/\(values.count) values differ")
        // The resampler reproduces PyTorch's uint8 antialiased-bicubic kernel in the same integer
        // fixed-point arithmetic (Int16 weights, same precision, same pass order, same rounding), and
        // the normalisation is the same Float32 expression, so every case — resized or not — is
        // expected to match bit for bit; integer arithmetic does not vary between machines.
        #expect(maxDiff == 0)
    }

    @Test func smartResizeMatchesReference() throws {
        let table = try #require(Self.golden()["smart_resize"] as? [[String: Any]])
        #expect(table.count > 20)
        for row in table {
            let h = try #require(row["height"] as? Int), w = try #require(row["width"] as? Int)
            let processor = Qwen3VL.ImageProcessor(minPixels: row["min_pixels"] as? Int, maxPixels: row["max_pixels"] as? Int)
            let expected = Size(width: try #require(row["resized_width"] as? Int), height: try #require(row["resized_height"] as? Int))
            #expect(processor.smartResize(height: h, width: w) == expected, "\(w)x\(h)")
        }
    }

    @Test func specTable() {
        let processor = Qwen3VL.ImageProcessor()
        #expect(processor.smartResize(height: 1080, width: 1920) == Size(width: 1920, height: 1088))
        #expect(processor.smartResize(height: 768, width: 1366) == Size(width: 1376, height: 768))
        #expect(processor.smartResize(height: 720, width: 1280) == Size(width: 1280, height: 704))  // 22.5 -> 22
        #expect(processor.smartResize(height: 100, width: 100) == Size(width: 256, height: 256))
    }

    @Test func unresizedLayout() {
        // 32x32 of distinct values: pixel (y, x, c) lands at row (y/16)*2 + x/16, column ((c*2+t)*16 + y%16)*16 + x%16.
        var pixels = [UInt8](repeating: 0, count: 32 * 32 * 3)
        for y in 0..<32 { for x in 0..<32 { for c in 0..<3 { pixels[(y * 32 + x) * 3 + c] = UInt8((y * 7 + x * 3 + c * 50) % 256) } } }
        let image = RGBImage(width: 32, height: 32, pixels: pixels)
        let (values, grid) = Qwen3VL.ImageProcessor(minPixels: 1, maxPixels: 1 << 20).process(image)
        #expect(grid.t == 1 && grid.h == 2 && grid.w == 2)
        for y in 0..<32 { for x in 0..<32 { for c in 0..<3 { for t in 0..<2 {
            let row = (y / 16) * 2 + x / 16
            let column = ((c * 2 + t) * 16 + y % 16) * 16 + x % 16
            #expect(values[row * 1536 + column] == (Float(pixels[(y * 32 + x) * 3 + c]) - 127.5) / 127.5)
        } } } }
    }
}
