import Dispatch

/// How a server-side image stores its pixels: the facts an X11 `XImage` carries
/// (`bits_per_pixel`, `bytes_per_line`, `byte_order`, `red_mask`, ...), without X11 types.
public struct PixelLayout: Hashable, Sendable {
    public enum ByteOrder: Sendable {
        case leastSignificantFirst
        case mostSignificantFirst
    }

    /// 16, 24 or 32.
    public var bitsPerPixel: Int
    /// Bytes from one row to the next (rows may be padded).
    public var bytesPerLine: Int
    public var byteOrder: ByteOrder
    public var redMask: UInt32
    public var greenMask: UInt32
    public var blueMask: UInt32

    public init(bitsPerPixel: Int, bytesPerLine: Int, byteOrder: ByteOrder, redMask: UInt32, greenMask: UInt32,
                blueMask: UInt32) {
        self.bitsPerPixel = bitsPerPixel
        self.bytesPerLine = bytesPerLine
        self.byteOrder = byteOrder
        self.redMask = redMask
        self.greenMask = greenMask
        self.blueMask = blueMask
    }

    /// Why this layout cannot be converted, or `nil` when it can.
    public func unsupportedReason(width: Int) -> String? {
        guard [16, 24, 32].contains(bitsPerPixel) else {
            return "\(bitsPerPixel) bits per pixel (only 16, 24 and 32 are supported)"
        }
        guard bytesPerLine >= width * bitsPerPixel / 8 else {
            return "\(bytesPerLine) bytes per line is too short for \(width) pixels"
        }
        for (name, mask) in [("red", redMask), ("green", greenMask), ("blue", blueMask)] {
            let shifted = mask >> UInt32(mask.trailingZeroBitCount)
            guard mask != 0, shifted & (shifted &+ 1) == 0 else {
                return "the \(name) mask \(String(mask, radix: 16)) is not one run of bits (not a TrueColor visual)"
            }
        }
        return nil
    }
}

extension RGBImage {
    /// Converts a captured server image (X11 ZPixmap data) to RGB.
    ///
    /// The common case, 32 bits per pixel with 8-bit channels, takes a fast path split over the cores;
    /// every other TrueColor layout (16/24 bits, other masks, either byte order) a general one.
    public init(converting data: UnsafeRawBufferPointer, width: Int, height: Int, layout: PixelLayout) throws(ImagingError) {
        if let reason = layout.unsupportedReason(width: width) {
            throw ImagingError(.unsupportedPixelFormat, "cannot convert the captured image: \(reason)")
        }
        guard data.count >= layout.bytesPerLine * max(height - 1, 0) + width * layout.bitsPerPixel / 8 else {
            throw ImagingError(.truncated, "captured image holds \(data.count) bytes, too few for \(width)x\(height)")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBytes { out in
            let convertRows = Self.rowConverter(for: layout, width: width)
            let dst = UncheckedSendable(out)
            let src = UncheckedSendable(data)
            // Two bands keep both cores busy on full-screen captures; small images stay on one thread.
            let bands = width * height >= 1 << 18 ? 2 : 1
            DispatchQueue.concurrentPerform(iterations: bands) { band in
                let rows = (height * band / bands)..<(height * (band + 1) / bands)
                convertRows(src.value, dst.value, rows)
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    private typealias RowConverter = @Sendable (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer, Range<Int>) -> Void

    private static func rowConverter(for layout: PixelLayout, width: Int) -> RowConverter {
        let stride = layout.bytesPerLine
        if layout.bitsPerPixel == 32, layout.redMask == 0xFF0000, layout.greenMask == 0xFF00, layout.blueMask == 0xFF {
            // Pixel value 0x00RRGGBB; in memory B,G,R,X (LSB first) or X,R,G,B (MSB first).
            let (r, g, b) = layout.byteOrder == .leastSignificantFirst ? (2, 1, 0) : (1, 2, 3)
            return { src, dst, rows in
                let s = src.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let d = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
                for y in rows {
                    let srow = s + y * stride, drow = d + y * width * 3
                    for x in 0..<width {
                        drow[3 &* x] = srow[4 &* x &+ r]
                        drow[3 &* x &+ 1] = srow[4 &* x &+ g]
                        drow[3 &* x &+ 2] = srow[4 &* x &+ b]
                    }
                }
            }
        }
        let bytes = layout.bitsPerPixel / 8
        let msbFirst = layout.byteOrder == .mostSignificantFirst
        let channels = [layout.redMask, layout.greenMask, layout.blueMask].map(ChannelExtractor.init)
        return { src, dst, rows in
            let s = src.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let d = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for y in rows {
                for x in 0..<width {
                    let p = s + y * stride + x * bytes
                    var value: UInt32 = 0
                    for i in 0..<bytes {
                        let byte = UInt32(p[msbFirst ? i : bytes - 1 - i])
                        value = value << 8 | byte
                    }
                    let o = (y * width + x) * 3
                    d[o] = channels[0].extract(value)
                    d[o + 1] = channels[1].extract(value)
                    d[o + 2] = channels[2].extract(value)
                }
            }
        }
    }
}

/// Pulls one channel out of a packed pixel and scales it to 8 bits (a 5-bit 31 becomes 255).
private struct ChannelExtractor: Sendable {
    let mask: UInt32
    let shift: UInt32
    let maximum: UInt32

    init(mask: UInt32) {
        self.mask = mask
        shift = UInt32(mask.trailingZeroBitCount)
        maximum = mask >> shift
    }

    func extract(_ pixel: UInt32) -> UInt8 {
        let v = (pixel & mask) >> shift
        return maximum == 255 ? UInt8(v) : UInt8((v * 255 + maximum / 2) / maximum)
    }
}

/// Hands raw buffers to the conversion bands, which write disjoint rows.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
