public import Imaging

/// The coordinate contract: how a point the model wrote becomes a pixel on the X screen.
///
/// Three spaces, one chain:
///
/// 1. **Model space** — what the model writes, per ``CoordinateSpace``:
///    - `.relative1000` (Qwen3-VL): 0…1000 on both axes, relative to the image the model saw,
///      whatever its size. The denominator is **1000**: `pixel = ⌊v · size / 1000⌋`, and the edge
///      value 1000 itself means the last pixel (size − 1).
///    - `.resizedPixels(size)` (Qwen2.5-VL): pixels of the smart-resized image the model saw;
///      `pixel = ⌊v · captured / resized⌋`, with `v == resized` meaning the last pixel.
///    - `.imagePixels`: pixels of the captured image itself.
/// 2. **Image pixels** — pixels of the captured image (the screenshot sent to the model).
/// 3. **Screen pixels** — root-window pixels: image pixels plus the capture's origin (the monitor's
///    or region's offset on the root window).
///
/// A value outside its space (negative, above 1000, past the resized size, NaN) is an error that
/// says so; nothing is clamped. ``modelPoint(forScreen:)`` is the inverse (the centre of the pixel),
/// used for replay and tested by round trip: mapping back and forth lands on the same pixel.
public struct CoordinateMapping: Hashable, Sendable, CustomStringConvertible {
    public enum CoordinateSpace: Hashable, Sendable, Codable {
        case relative1000
        case resizedPixels(Size)
        case imagePixels
    }

    public let space: CoordinateSpace
    /// Size of the captured image.
    public let imageSize: Size
    /// Where the captured image's top-left pixel is on the root window.
    public let imageOrigin: Point

    public init(space: CoordinateSpace, imageSize: Size, imageOrigin: Point = Point(x: 0, y: 0)) {
        self.space = space
        self.imageSize = imageSize
        self.imageOrigin = imageOrigin
    }

    /// Model space → image pixels.
    public func imagePoint(for point: ModelPoint) throws(CoordinateError) -> Point {
        Point(x: try axis(point.x, name: "x", pixels: imageSize.width, modelExtent: extent.width),
              y: try axis(point.y, name: "y", pixels: imageSize.height, modelExtent: extent.height))
    }

    /// Model space → root-window pixels.
    public func screenPoint(for point: ModelPoint) throws(CoordinateError) -> Point {
        screenPoint(forImage: try imagePoint(for: point))
    }

    /// Image pixel → root-window pixel: the capture's origin added.
    public func screenPoint(forImage point: Point) -> Point {
        Point(x: point.x + imageOrigin.x, y: point.y + imageOrigin.y)
    }

    /// Root-window pixel → image pixel: the capture's origin taken off.
    public func imagePoint(forScreen point: Point) -> Point {
        Point(x: point.x - imageOrigin.x, y: point.y - imageOrigin.y)
    }

    /// Root-window pixel → model space (the pixel's centre), for replay and round trips.
    public func modelPoint(forScreen point: Point) -> ModelPoint {
        let x = Double(point.x - imageOrigin.x) + 0.5, y = Double(point.y - imageOrigin.y) + 0.5
        return ModelPoint(x: x * extent.width / Double(imageSize.width), y: y * extent.height / Double(imageSize.height))
    }

    /// The size of model space along each axis.
    private var extent: (width: Double, height: Double) {
        let size = space.extent(imageSize: imageSize)
        return (Double(size.width), Double(size.height))
    }

    private func axis(_ value: Double, name: String, pixels: Int, modelExtent: Double) throws(CoordinateError) -> Int {
        // Plain pixels stop before the size; scaled spaces include their edge value (1000 → last pixel).
        let inside = space == .imagePixels ? value < modelExtent : value <= modelExtent
        guard value.isFinite, value >= 0, inside else {
            let range = space == .imagePixels ? "0…\(Int(modelExtent) - 1)" : "0…\(ModelPoint.format(modelExtent))"
            throw CoordinateError("\(name) = \(ModelPoint.format(value)) is outside \(spaceName) (\(range)); it was not clamped")
        }
        return min(Int((value * Double(pixels) / modelExtent).rounded(.down)), pixels - 1)
    }

    private var spaceName: String {
        switch space {
        case .relative1000: "the model's 0–1000 relative space"
        case .resizedPixels(let size): "the \(size) image the model saw"
        case .imagePixels: "the \(imageSize) captured image"
        }
    }

    public var description: String {
        let model = switch space {
        case .relative1000: "relative 0–1000"
        case .resizedPixels(let size): "pixels of the \(size) resized image"
        case .imagePixels: "image pixels"
        }
        return "\(model) → \(imageSize) image → screen at +\(imageOrigin.x)+\(imageOrigin.y)"
    }
}

/// A model coordinate outside its space.
public struct CoordinateError: Error, Hashable, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}

extension CoordinateMapping.CoordinateSpace {
    /// `relative`, `pixels` or `resized:WxH`, as profiles and `--coordinates` write it.
    public init?(profileValue value: String) {
        switch value {
        case "relative", "relative1000": self = .relative1000
        case "pixels": self = .imagePixels
        default:
            let size = value.hasPrefix("resized:") ? value.dropFirst("resized:".count).lowercased().split(separator: "x").compactMap { Int($0) } : []
            guard size.count == 2, size[0] > 0, size[1] > 0 else { return nil }
            self = .resizedPixels(Size(width: size[0], height: size[1]))
        }
    }

    /// The spelling ``init(profileValue:)`` reads.
    public var profileValue: String {
        switch self {
        case .relative1000: "relative"
        case .imagePixels: "pixels"
        case .resizedPixels(let size): "resized:\(size)"
        }
    }

    /// Also the spelling sessions record; an unknown one is an error that names the accepted values.
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(String.self)
        guard let space = Self(profileValue: value) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "'\(value)' is not relative, pixels or resized:WxH"))
        }
        self = space
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(profileValue)
    }

    /// The space's size along each axis for an image of `imageSize`: the screen's resolution as the
    /// model is told it (1000x1000 for relative coordinates).
    public func extent(imageSize: Size) -> Size {
        switch self {
        case .relative1000: Size(width: 1000, height: 1000)
        case .resizedPixels(let size): size
        case .imagePixels: imageSize
        }
    }
}
