@testable import AgentCore
import Imaging
import Qwen3VLPrompt
import Testing

/// The screenshot the model is shown: Qwen's smart_resize between the profile's limits, the same
/// pixels for every backend, and the coordinate space that goes with it.
@Suite("The model image is sized by smart_resize for every backend")
struct ModelImageTests {
    /// The official computer-use cookbook's limits, which the served profiles use.
    static let served = ModelImage.Limits(minPixels: 3136, maxPixels: 12_845_056)
    static let embedded = ModelImage.Limits(minPixels: 3136, maxPixels: 921_600)

    @Test(arguments: [
        (Size(width: 1920, height: 1080), Size(width: 1920, height: 1088), 2040),
        (Size(width: 1366, height: 768), Size(width: 1376, height: 768), 1032),
        (Size(width: 3840, height: 2160), Size(width: 3840, height: 2176), 8160), // a 4K screen is not shrunk to 1080p
        (Size(width: 1280, height: 800), Size(width: 1280, height: 800), 1000),
    ])
    func servedSizesFollowTheCookbookLimits(screen: Size, sent: Size, tokens: Int) {
        let shape = ModelImage.shape(for: screen, limits: Self.served, space: .relative1000)
        #expect(shape.size == sent)
        #expect(shape.space == .relative1000)
        #expect(ModelImage.tokens(for: sent) == tokens)
    }

    @Test func embeddedLimitShrinksAFullHDScreenToTheBenchmarkedSize() {
        let shape = ModelImage.shape(for: Size(width: 1920, height: 1080), limits: Self.embedded, space: .relative1000)
        #expect(shape.size == Size(width: 1280, height: 704))
        #expect(ModelImage.tokens(for: shape.size) == 880)
    }

    /// The image sent to a served model is exactly what the embedded processor would make of the
    /// screenshot, and the embedded processor leaves it as it is: both paths see the same pixels.
    /// (A small screenshot: the resampler is slow in a debug build.)
    @Test func servedAndEmbeddedPathsSeeTheSamePixels() {
        var seed = UInt64.random(in: 1...UInt64.max)
        print("ModelImageTests seed: \(seed)")
        var pixels = [UInt8](repeating: 0, count: 333 * 250 * 3)
        for index in pixels.indices {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            pixels[index] = UInt8(truncatingIfNeeded: seed >> 56)
        }
        let screenshot = RGBImage(width: 333, height: 250, pixels: pixels)
        let sent = ModelImage.prepare(screenshot, limits: Self.served, space: .relative1000)
        #expect(sent.image.size == Size(width: 320, height: 256))
        let processor = Qwen3VL.ImageProcessor(minPixels: Self.served.minPixels, maxPixels: Self.served.maxPixels)
        #expect(sent.image == processor.resized(screenshot))
        #expect(processor.resized(sent.image) == sent.image, "the embedded processor does not resample it again")
        #expect(processor.process(sent.image).pixelValues == processor.process(screenshot).pixelValues)
    }

    @Test func anImageThatAlreadyFitsIsSentUnchanged() {
        let screenshot = RGBImage(width: 1280, height: 800, fill: RGB(hex: 0x336699))
        #expect(ModelImage.prepare(screenshot, limits: Self.served, space: .relative1000).image == screenshot)
    }

    /// Pixel coordinates are pixels of the image the model saw; the chain maps them back to the capture.
    @Test func pixelSpaceBecomesThePixelsOfTheResizedImage() throws {
        let screenshot = RGBImage(width: 1366, height: 768, fill: RGB(hex: 0x808080))
        let sent = ModelImage.prepare(screenshot, limits: Self.served, space: .imagePixels)
        #expect(sent.space == .resizedPixels(Size(width: 1376, height: 768)))
        let mapping = CoordinateMapping(space: sent.space, imageSize: screenshot.size)
        #expect(try mapping.imagePoint(for: ModelPoint(x: 688, y: 384)) == Point(x: 683, y: 384))
        #expect(try mapping.imagePoint(for: ModelPoint(x: 1376, y: 768)) == Point(x: 1365, y: 767))
        // A space the profile fixes stays as it is.
        let fixed = CoordinateMapping.CoordinateSpace.resizedPixels(Size(width: 1000, height: 500))
        #expect(ModelImage.prepare(screenshot, limits: Self.served, space: fixed).space == fixed)
    }
}
