public import Imaging
import Qwen3VLPrompt

/// The screenshot as the model is shown it, whichever backend answers: resized by Qwen's
/// `smart_resize` rule (sides multiples of 32 = patch 16 × merge 2, area within the limits) with the
/// embedded processor's resampler, so a served model and the embedded engine see the same pixels and
/// the coordinate contract maps from the same image.
public enum ModelImage {
    /// How many pixels the image sent may have.
    public struct Limits: Hashable, Sendable {
        public var minPixels: Int
        public var maxPixels: Int

        public init(minPixels: Int, maxPixels: Int) {
            self.minPixels = minPixels
            self.maxPixels = maxPixels
        }
    }

    /// The image to send and the coordinate space the model answers in for it: relative coordinates
    /// do not depend on the size; pixel coordinates become pixels of the resized image.
    public static func prepare(_ screenshot: RGBImage, limits: Limits, space: CoordinateMapping.CoordinateSpace)
        -> (image: RGBImage, space: CoordinateMapping.CoordinateSpace)
    {
        let image = processor(limits).resized(screenshot)
        return (image, modelSpace(space, imageSize: image.size))
    }

    /// What `prepare` does to a screenshot of `size`, without the pixels.
    public static func shape(for size: Size, limits: Limits, space: CoordinateMapping.CoordinateSpace)
        -> (size: Size, space: CoordinateMapping.CoordinateSpace)
    {
        let sent = processor(limits).smartResize(height: size.height, width: size.width)
        return (sent, modelSpace(space, imageSize: sent))
    }

    /// Image tokens the model reads for an image of `size` as `prepare` sends it: one per 32×32 block.
    public static func tokens(for size: Size) -> Int {
        let factor = Qwen3VL.ImageProcessor().factor
        return (size.width / factor) * (size.height / factor)
    }

    private static func modelSpace(_ space: CoordinateMapping.CoordinateSpace, imageSize: Size) -> CoordinateMapping.CoordinateSpace {
        space == .imagePixels ? .resizedPixels(imageSize) : space
    }

    private static func processor(_ limits: Limits) -> Qwen3VL.ImageProcessor {
        Qwen3VL.ImageProcessor(minPixels: limits.minPixels, maxPixels: limits.maxPixels)
    }
}
