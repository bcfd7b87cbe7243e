/// One 8-bit-per-channel colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(red: UInt8(truncatingIfNeeded: hex >> 16), green: UInt8(truncatingIfNeeded: hex >> 8),
                  blue: UInt8(truncatingIfNeeded: hex))
    }

    /// `#RRGGBB`.
    public var description: String {
        let value = UInt32(red) << 16 | UInt32(green) << 8 | UInt32(blue)
        let digits = String(value, radix: 16, uppercase: true)
        return "#" + String(repeating: "0", count: 6 - digits.count) + digits
    }
}

/// An 8-bit RGB image, rows top to bottom, tightly packed (`width * 3` bytes per row).
public struct RGBImage: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes: R, G, B for each pixel.
    public var pixels: [UInt8]

    public var size: Size { Size(width: width, height: height) }
    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: RGB = RGB(hex: 0)) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill != RGB(hex: 0) {
            for i in stride(from: 0, to: pixels.count, by: 3) {
                pixels[i] = fill.red
                pixels[i + 1] = fill.green
                pixels[i + 2] = fill.blue
            }
        }
    }

    /// Wraps existing RGB bytes; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "\(pixels.count) bytes do not make a \(width)x\(height) RGB image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> RGB {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
            let i = (y * width + x) * 3
            return RGB(red: pixels[i], green: pixels[i + 1], blue: pixels[i + 2])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
            let i = (y * width + x) * 3
            pixels[i] = newValue.red
            pixels[i + 1] = newValue.green
            pixels[i + 2] = newValue.blue
        }
    }

    public subscript(point: Point) -> RGB {
        get { self[point.x, point.y] }
        set { self[point.x, point.y] = newValue }
    }

    /// The part of the image inside `rect`, which must lie within the image.
    public func cropped(to rect: Rect) -> RGBImage {
        precondition(bounds.contains(rect), "crop \(rect) outside \(size)")
        var out = [UInt8](repeating: 0, count: rect.width * rect.height * 3)
        let rowBytes = rect.width * 3
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<rect.height {
                    let from = ((rect.y + row) * width + rect.x) * 3
                    dst.baseAddress!.advanced(by: row * rowBytes)
                        .update(from: src.baseAddress!.advanced(by: from), count: rowBytes)
                }
            }
        }
        return RGBImage(width: rect.width, height: rect.height, pixels: out)
    }
}
