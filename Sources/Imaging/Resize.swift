extension RGBImage {
    /// A smaller copy, each output pixel the average of the source pixels it covers (area
    /// resampling: what a downscaled screenshot for a model should look like; no aliasing of thin text).
    public func downscaled(to size: Size) -> RGBImage {
        precondition(size.width > 0 && size.height > 0 && size.width <= width && size.height <= height,
                     "downscale \(self.size) to \(size)")
        if size == self.size { return self }
        var out = [UInt8](repeating: 0, count: size.width * size.height * 3)
        let sx = Double(width) / Double(size.width), sy = Double(height) / Double(size.height)
        pixels.withUnsafeBufferPointer { src in
            for oy in 0..<size.height {
                let y0 = Int(Double(oy) * sy), y1 = max(y0 + 1, min(height, Int(Double(oy + 1) * sy)))
                for ox in 0..<size.width {
                    let x0 = Int(Double(ox) * sx), x1 = max(x0 + 1, min(width, Int(Double(ox + 1) * sx)))
                    var r = 0, g = 0, b = 0
                    for y in y0..<y1 {
                        var i = (y * width + x0) * 3
                        for _ in x0..<x1 {
                            r += Int(src[i]); g += Int(src[i + 1]); b += Int(src[i + 2])
                            i += 3
                        }
                    }
                    let n = (y1 - y0) * (x1 - x0), o = (oy * size.width + ox) * 3
                    out[o] = UInt8((r + n / 2) / n)
                    out[o + 1] = UInt8((g + n / 2) / n)
                    out[o + 2] = UInt8((b + n / 2) / n)
                }
            }
        }
        return RGBImage(width: size.width, height: size.height, pixels: out)
    }
}
