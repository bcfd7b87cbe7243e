import Foundation
import Imaging
import TestSupport
import Testing
import TestSupportCore

@Suite("PNG through libpng")
struct PNGTests {
    static func gradient(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                image[x, y] = RGB(red: UInt8(x * 255 / max(width - 1, 1)), green: UInt8(y * 255 / max(height - 1, 1)),
                                  blue: UInt8((x * 7 + y * 13) & 0xFF))
            }
        }
        return image
    }

    @Test(arguments: [Size(width: 1, height: 1), Size(width: 3, height: 2), Size(width: 317, height: 211)])
    func roundTripKeepsEveryPixel(size: Size) throws {
        let image = Self.gradient(width: size.width, height: size.height)
        let png = try PNG.encode(image)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try PNG.decode(png) == image)
    }

    @Test func fileRoundTripAndErrorsNameTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("png-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        let image = Self.gradient(width: 40, height: 30)
        try PNG.write(image, to: url)
        #expect(try PNG.read(from: url) == image)

        let missing = #expect(throws: ImagingError.self) { try PNG.read(from: url.appendingPathExtension("missing")) }
        #expect(missing?.code == .io)
    }

    @Test func truncatedOrForeignDataIsATypedError() throws {
        let png = try PNG.encode(Self.gradient(width: 64, height: 64))
        for broken in [Array(png.prefix(png.count / 2)), Array(png.prefix(20)), Array("not a png at all".utf8), []] {
            let error = #expect(throws: ImagingError.self) { try PNG.decode(broken) }
            #expect(error?.code == .invalidPNG)
        }
    }

    @Test func flippedBitsNeverCrash() throws {
        let png = try PNG.encode(Self.gradient(width: 32, height: 16))
        var generator = SeededGenerator()
        for _ in 0..<300 {
            var mutated = png
            for _ in 0..<3 { mutated[Int.random(in: 8..<mutated.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator) }
            // Either a clean decode (of the right size) or a typed error; never a trap.
            if let image = try? PNG.decode(mutated) { #expect(image.width * image.height > 0, "\(generator)") }
        }
    }
}

@Suite("Server pixel layouts to RGB")
struct PixelLayoutTests {
    /// Packs `pixels` as an X server would: `bits` per pixel, `order` bytes, rows padded to `pad` bytes.
    static func pack(_ values: [[UInt32]], bits: Int, order: PixelLayout.ByteOrder, pad: Int = 4) -> (bytes: [UInt8], stride: Int) {
        let width = values[0].count, bytesPer = bits / 8
        let stride = (width * bytesPer + pad - 1) / pad * pad
        var bytes = [UInt8](repeating: 0xEE, count: stride * values.count)
        for (y, row) in values.enumerated() {
            for (x, value) in row.enumerated() {
                for i in 0..<bytesPer {
                    let shift = order == .leastSignificantFirst ? i * 8 : (bytesPer - 1 - i) * 8
                    bytes[y * stride + x * bytesPer + i] = UInt8(truncatingIfNeeded: value >> UInt32(shift))
                }
            }
        }
        return (bytes, stride)
    }

    static let colours: [RGB] = [RGB(hex: 0xFF0000), RGB(hex: 0x00FF00), RGB(hex: 0x0000FF), RGB(hex: 0x123456), RGB(hex: 0xFFFFFF), RGB(hex: 0)]

    @Test(arguments: [(32, PixelLayout.ByteOrder.leastSignificantFirst), (32, .mostSignificantFirst),
                      (24, .leastSignificantFirst), (24, .mostSignificantFirst)])
    func eightBitChannelsConvertExactly(bits: Int, order: PixelLayout.ByteOrder) throws {
        // Three rows, odd width, so row padding is exercised.
        let row = Self.colours.map { UInt32($0.red) << 16 | UInt32($0.green) << 8 | UInt32($0.blue) | (bits == 32 ? 0xAB00_0000 : 0) }
        let (bytes, stride) = Self.pack([row, row.reversed(), row], bits: bits, order: order)
        let layout = PixelLayout(bitsPerPixel: bits, bytesPerLine: stride, byteOrder: order, redMask: 0xFF0000, greenMask: 0xFF00, blueMask: 0xFF)
        let image = try bytes.withUnsafeBytes { try RGBImage(converting: $0, width: row.count, height: 3, layout: layout) }
        for (x, colour) in Self.colours.enumerated() {
            #expect(image[x, 0] == colour)
            #expect(image[row.count - 1 - x, 1] == colour)
        }
    }

    @Test func bgrMasksAndRGB565InBothOrders() throws {
        let bgr = PixelLayout(bitsPerPixel: 32, bytesPerLine: 8, byteOrder: .leastSignificantFirst, redMask: 0xFF, greenMask: 0xFF00, blueMask: 0xFF0000)
        let (bgrBytes, _) = Self.pack([[0x563412, 0x0000FF]], bits: 32, order: .leastSignificantFirst)
        let swapped = try bgrBytes.withUnsafeBytes { try RGBImage(converting: $0, width: 2, height: 1, layout: bgr) }
        #expect(swapped[0, 0] == RGB(hex: 0x123456) && swapped[1, 0] == RGB(hex: 0xFF0000))

        for order in [PixelLayout.ByteOrder.leastSignificantFirst, .mostSignificantFirst] {
            let (bytes, stride) = Self.pack([[0xF800, 0x07E0, 0x001F, 0x11AA]], bits: 16, order: order)
            let layout = PixelLayout(bitsPerPixel: 16, bytesPerLine: stride, byteOrder: order, redMask: 0xF800, greenMask: 0x07E0, blueMask: 0x001F)
            let image = try bytes.withUnsafeBytes { try RGBImage(converting: $0, width: 4, height: 1, layout: layout) }
            #expect([image[0, 0], image[1, 0], image[2, 0]] == [RGB(hex: 0xFF0000), RGB(hex: 0x00FF00), RGB(hex: 0x0000FF)])
            // 0x11AA = (2, 13, 10) in 5-6-5 bits.
            #expect(image[3, 0] == RGB(red: 16, green: 53, blue: 82))
        }
    }

    @Test func fullScreenFastPathMatchesTheGeneralPath() throws {
        // 32-bit LSB with standard masks takes the fast, two-band path; 32-bit with swapped masks the general one.
        let width = 640, height = 480
        var generator = SeededGenerator()
        let values = (0..<height).map { _ in (0..<width).map { _ in UInt32.random(in: 0...0xFFFFFF, using: &generator) } }
        let (bytes, stride) = Self.pack(values, bits: 32, order: .leastSignificantFirst)
        let fast = try bytes.withUnsafeBytes {
            try RGBImage(converting: $0, width: width, height: height, layout: PixelLayout(
                bitsPerPixel: 32, bytesPerLine: stride, byteOrder: .leastSignificantFirst, redMask: 0xFF0000, greenMask: 0xFF00, blueMask: 0xFF))
        }
        for _ in 0..<1000 {
            let x = Int.random(in: 0..<width, using: &generator), y = Int.random(in: 0..<height, using: &generator)
            #expect(fast[x, y] == RGB(hex: values[y][x]), "\(generator)")
        }
    }

    @Test(arguments: [1, 5, 6, 7, 8, 13, 1917], [PixelLayout.ByteOrder.leastSignificantFirst, .mostSignificantFirst])
    func everyWidthAndRowTailConvertsExactly(width: Int, order: PixelLayout.ByteOrder) throws {
        // The fast paths convert several pixels per step; widths that are not a multiple leave tails.
        var generator = SeededGenerator()
        let height = 3
        let values = (0..<height).map { _ in (0..<width).map { _ in UInt32.random(in: 0...0xFFFF_FFFF, using: &generator) } }
        let (bytes, stride) = Self.pack(values, bits: 32, order: order, pad: 64)
        let layout = PixelLayout(bitsPerPixel: 32, bytesPerLine: stride, byteOrder: order, redMask: 0xFF0000, greenMask: 0xFF00, blueMask: 0xFF)
        let image = try bytes.withUnsafeBytes { try RGBImage(converting: $0, width: width, height: height, layout: layout) }
        for y in 0..<height {
            for x in 0..<width { #expect(image[x, y] == RGB(hex: values[y][x] & 0xFFFFFF), "(\(x), \(y)); \(generator)") }
        }
    }

    @Test func unsupportedLayoutsAreTypedErrors() {
        let eightBit = PixelLayout(bitsPerPixel: 8, bytesPerLine: 4, byteOrder: .leastSignificantFirst, redMask: 0xE0, greenMask: 0x1C, blueMask: 0x3)
        let error = #expect(throws: ImagingError.self) {
            try [UInt8](repeating: 0, count: 16).withUnsafeBytes { try RGBImage(converting: $0, width: 4, height: 4, layout: eightBit) }
        }
        #expect(error?.code == .unsupportedPixelFormat)
        let short = PixelLayout(bitsPerPixel: 32, bytesPerLine: 16, byteOrder: .leastSignificantFirst, redMask: 0xFF0000, greenMask: 0xFF00, blueMask: 0xFF)
        let truncated = #expect(throws: ImagingError.self) {
            try [UInt8](repeating: 0, count: 20).withUnsafeBytes { try RGBImage(converting: $0, width: 4, height: 4, layout: short) }
        }
        #expect(truncated?.code == .truncated)
    }
}

@Suite("Downscaling for the model")
struct DownscaleTests {
    @Test func areaAverageKeepsFlatColoursAndAveragesEdges() {
        var image = RGBImage(width: 8, height: 4, fill: RGB(hex: 0x204080))
        for y in 0..<4 { image[7, y] = RGB(hex: 0xFFFFFF); image[6, y] = RGB(hex: 0xFFFFFF) }
        let half = image.downscaled(to: Size(width: 4, height: 2))
        #expect(half.size == Size(width: 4, height: 2))
        #expect(half[0, 0] == RGB(hex: 0x204080) && half[2, 1] == RGB(hex: 0x204080))
        #expect(half[3, 0] == RGB(hex: 0xFFFFFF))
        let third = RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 255, 255, 255]).downscaled(to: Size(width: 1, height: 1))
        #expect(third[0, 0] == RGB(red: 115, green: 115, blue: 115))
    }
}
