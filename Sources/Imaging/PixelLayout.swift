internal import CPixels
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
        // Every byte is written by the row converters below, so the array starts uninitialised
        // (zero-filling 6 MB first costs more than a tenth of the conversion).
        let count = width * height * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let convertRows = Self.rowConverter(for: layout, width: width)
            let dst = UncheckedSendable(UnsafeMutableRawBufferPointer(buffer))
            let src = UncheckedSendable(data)
            // Two bands keep both cores busy on full-screen captures; small images stay on one thread.
            let bands = width * height >= 1 << 18 ? 2 : 1
            DispatchQueue.concurrentPerform(iterations: bands) { band in
                let rows = (height * band / bands)..<(height * (band + 1) / bands)
                convertRows(src.value, dst.value, rows)
            }
            initialized = count
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    private typealias RowConverter = @Sendable (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer, Range<Int>) -> Void

    private static func rowConverter(for layout: PixelLayout, width: Int) -> RowConverter {
        let stride = layout.bytesPerLine
        if layout.bitsPerPixel == 32, layout.redMask == 0xFF0000, layout.greenMask == 0xFF00, layout.blueMask == 0xFF {
            // Pixel value 0x00RRGGBB; in memory B,G,R,X (LSB first) or X,R,G,B (MSB first).
            if layout.byteOrder == .leastSignificantFirst {
                return { src, dst, rows in
                    if let s = src.baseAddress, let d = dst.baseAddress,
                       cpixels_bgrx_to_rgb_rows(s.assumingMemoryBound(to: UInt8.self), stride, d.assumingMemoryBound(to: UInt8.self),
                                                width, rows.lowerBound, rows.upperBound) != 0
                    { return }
                    convert32(src, dst, rows, width: width, stride: stride, channels: (2, 1, 0)) { pair in
                        // B0 G0 R0 X0 B1 G1 R1 X1, byte-swapped X1 R1 G1 B1 X0 R0 G0 B0 -> R0 G0 B0 R1 G1 B1
                        let v = pair.byteSwapped
                        return v >> 40 | (v >> 8 & 0xFF_FFFF) << 24
                    }
                }
            }
            return { src, dst, rows in
                convert32(src, dst, rows, width: width, stride: stride, channels: (1, 2, 3)) { pair in
                    // X0 R0 G0 B0 X1 R1 G1 B1 -> R0 G0 B0 R1 G1 B1
                    pair >> 8 & 0xFF_FFFF | (pair >> 40) << 24
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

/// The 32-bit fast path: eight pixels per step as four 64-bit loads (two pixels each, memory byte k
/// in bits 8k..<8k+8 whatever the host's byte order), each packed by `pack` into the six bytes
/// R0 G0 B0 R1 G1 B1, and three 64-bit stores; the last `width % 8` pixels of a row byte by byte,
/// with `channels` the byte offsets of R, G and B inside a pixel.
@inline(__always)
private func convert32(
    _ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer, _ rows: Range<Int>, width: Int, stride: Int,
    channels: (r: Int, g: Int, b: Int), pack: (UInt64) -> UInt64
) {
    guard let s = src.baseAddress, let d = dst.baseAddress else { return } // an empty image
    for y in rows {
        let srow = s + y * stride, drow = d + y * width * 3
        var x = 0
        while x &+ 8 <= width {
            let i = 4 &* x, o = 3 &* x
            let p0 = pack(UInt64(littleEndian: srow.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            let p1 = pack(UInt64(littleEndian: srow.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)))
            let p2 = pack(UInt64(littleEndian: srow.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self)))
            let p3 = pack(UInt64(littleEndian: srow.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)))
            drow.storeBytes(of: (p0 | p1 << 48).littleEndian, toByteOffset: o, as: UInt64.self)
            drow.storeBytes(of: (p1 >> 16 | p2 << 32).littleEndian, toByteOffset: o &+ 8, as: UInt64.self)
            drow.storeBytes(of: (p2 >> 32 | p3 << 16).littleEndian, toByteOffset: o &+ 16, as: UInt64.self)
            x &+= 8
        }
        while x < width {
            let i = 4 &* x, o = 3 &* x
            drow.storeBytes(of: srow.load(fromByteOffset: i &+ channels.r, as: UInt8.self), toByteOffset: o, as: UInt8.self)
            drow.storeBytes(of: srow.load(fromByteOffset: i &+ channels.g, as: UInt8.self), toByteOffset: o &+ 1, as: UInt8.self)
            drow.storeBytes(of: srow.load(fromByteOffset: i &+ channels.b, as: UInt8.self), toByteOffset: o &+ 2, as: UInt8.self)
            x &+= 1
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
