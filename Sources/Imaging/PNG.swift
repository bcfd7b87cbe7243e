internal import CPNG
public import Foundation

/// PNG encoding and decoding through libpng's simplified API (`png_image_*`).
public enum PNG {
    /// Encodes an image as an 8-bit RGB PNG.
    ///
    /// Corresponding libpng call: `png_image_write_to_memory`, with `PNG_IMAGE_FLAG_FAST`
    /// (screenshots compress well even at the fast zlib level, and capture-to-PNG stays quick).
    public static func encode(_ image: RGBImage) throws(ImagingError) -> [UInt8] {
        guard image.width > 0, image.height > 0 else {
            throw ImagingError(.invalidPNG, "cannot encode an empty \(image.size) image as PNG")
        }
        var png = png_image()
        png.version = cpng_image_version
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = cpng_format_rgb
        png.flags = cpng_flag_fast
        let rowStride = png_int_32(image.width * 3)
        // Worst case for stored (incompressible) data, so one call writes everything.
        var size = image.pixels.count + image.height * 6 + 4096 + image.pixels.count / 100
        var out = [UInt8](repeating: 0, count: size)
        let ok = image.pixels.withUnsafeBytes { pixels in
            out.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&png, buffer.baseAddress, &size, 0, pixels.baseAddress, rowStride, nil)
            }
        }
        defer { png_image_free(&png) }
        guard ok != 0 else { throw ImagingError(.invalidPNG, "PNG encoding failed: \(message(of: png))") }
        out.removeSubrange(size...)
        return out
    }

    /// Decodes any PNG (grey, palette, 16-bit, alpha composited on black) to 8-bit RGB.
    ///
    /// Corresponding libpng calls: `png_image_begin_read_from_memory`, `png_image_finish_read`.
    public static func decode(_ data: some ContiguousBytes) throws(ImagingError) -> RGBImage {
        var png = png_image()
        png.version = cpng_image_version
        let result: Result<RGBImage, ImagingError> = data.withUnsafeBytes { bytes in
            guard bytes.count >= 8, bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
                return .failure(ImagingError(.invalidPNG, "not a PNG file (no PNG signature in the first 8 bytes)"))
            }
            guard png_image_begin_read_from_memory(&png, bytes.baseAddress, bytes.count) != 0 else {
                return .failure(ImagingError(.invalidPNG, "cannot read PNG header: \(message(of: png))"))
            }
            defer { png_image_free(&png) }
            png.format = cpng_format_rgb
            let width = Int(png.width), height = Int(png.height)
            guard width > 0, height > 0, width * height <= 1 << 28 else {
                return .failure(ImagingError(.invalidPNG, "PNG size \(width)x\(height) is out of range"))
            }
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            let ok = pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&png, nil, out.baseAddress, png_int_32(width * 3), nil)
            }
            guard ok != 0 else {
                return .failure(ImagingError(.invalidPNG, "cannot decode PNG data: \(message(of: png))"))
            }
            return .success(RGBImage(width: width, height: height, pixels: pixels))
        }
        return try result.get()
    }

    /// Writes `image` to `url` as a PNG, atomically (a reader never sees half a file).
    public static func write(_ image: RGBImage, to url: URL) throws(ImagingError) {
        let bytes = try encode(image)
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw ImagingError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Reads the PNG at `url`.
    public static func read(from url: URL) throws(ImagingError) -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImagingError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        do {
            return try decode(data)
        } catch {
            throw ImagingError(error.code, "\(url.path): \(error.message)")
        }
    }

    private static func message(of png: png_image) -> String {
        withUnsafeBytes(of: png.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
