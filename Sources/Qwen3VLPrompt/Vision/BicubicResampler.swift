/// Antialiased bicubic resampling of 8-bit RGB, bit-compatible with PyTorch's CPU uint8 kernel for
/// `torchvision.transforms.v2.functional.resize(uint8, BICUBIC, antialias=True)` (itself modelled on
/// Pillow's `ImagingResample`): Keys cubic with a = -0.5, kernel support widened by the scale factor
/// when downscaling, weights normalised in Double then quantised to Int16 fixed point with the largest
/// precision that keeps the biggest weight below 2^15, a horizontal pass then a vertical pass, each
/// rounded and clamped to UInt8. A dimension whose size does not change is not resampled.
import Dispatch

/// A pointer handed to `concurrentPerform` bands that each touch a disjoint range.
struct SendablePointer<Pointee>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Pointee>
    init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
    init(_ base: UnsafePointer<Pointee>) { self.base = UnsafeMutablePointer(mutating: base) }
}

enum BicubicResampler {
    /// Rows are split into this many bands processed concurrently.
    static let bands = 8

    /// Fixed-point taps for resampling one dimension from `inSize` to `outSize` samples.
    struct Taps {
        var starts: [Int]
        var counts: [Int]
        /// `outSize * stride` coefficients, zero beyond `counts[i]`.
        var coefficients: [Int32]
        var stride: Int
        var precision: Int

        init(inSize: Int, outSize: Int) {
            let scale = Double(inSize) / Double(outSize)
            let support = scale >= 1 ? 2 * scale : 2
            let invScale = scale >= 1 ? 1 / scale : 1
            stride = Int(support.rounded(.up)) * 2 + 1
            starts = [Int](repeating: 0, count: outSize)
            counts = [Int](repeating: 0, count: outSize)
            var weights = [Double](repeating: 0, count: outSize * stride)
            var maxWeight = 0.0
            for i in 0..<outSize {
                let center = scale * (Double(i) + 0.5)
                let start = max(Int(center - support + 0.5), 0)
                let count = min(Int(center + support + 0.5), inSize) - start
                var total = 0.0
                for j in 0..<count {
                    let w = Self.cubic((Double(j + start) - center + 0.5) * invScale)
                    weights[i * stride + j] = w
                    total += w
                }
                for j in 0..<count where total != 0 {
                    weights[i * stride + j] /= total
                    maxWeight = max(maxWeight, weights[i * stride + j])
                }
                starts[i] = start
                counts[i] = count
            }
            var bits = 0
            while bits < 22 {
                if Int(0.5 + maxWeight * Double(1 << (bits + 1))) >= 1 << 15 { break }
                bits += 1
            }
            precision = bits
            let one = Double(1 << bits)
            coefficients = weights.map { w in
                let v = w * one
                return Int32(Int16(truncatingIfNeeded: Int(v < 0 ? v - 0.5 : v + 0.5)))
            }
        }

        static func cubic(_ x: Double) -> Double {
            let a = -0.5
            let x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }

    @inline(__always)
    static func clamp8(_ value: Int32, _ shift: Int32) -> UInt8 {
        let v = value >> shift
        return v < 0 ? 0 : v > 255 ? 255 : UInt8(truncatingIfNeeded: v)
    }

    /// Resizes tightly packed RGB `pixels` (`width x height`) to `outWidth x outHeight`.
    static func resize(_ pixels: [UInt8], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [UInt8] {
        var current = pixels
        if outWidth != width {
            current = horizontal(current, width: width, height: height, outWidth: outWidth)
        }
        if outHeight != height {
            current = vertical(current, rowLength: outWidth * 3, height: height, outHeight: outHeight)
        }
        return current
    }

    static func horizontal(_ pixels: [UInt8], width: Int, height: Int, outWidth: Int) -> [UInt8] {
        let taps = Taps(inSize: width, outSize: outWidth)
        let shift = Int32(taps.precision)
        let bias: Int32 = taps.precision > 0 ? 1 << (shift - 1) : 0
        let count = outWidth * height * 3
        return [UInt8](unsafeUninitializedCapacity: count) { dst, initialized in
            pixels.withUnsafeBufferPointer { src in
                taps.coefficients.withUnsafeBufferPointer { coef in
                    let bands = min(height, Self.bands)
                    let srcP = SendablePointer(src.baseAddress!), dstP = SendablePointer(dst.baseAddress!)
                    let coefP = SendablePointer(coef.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: bands) { band in
                    let src = UnsafePointer(srcP.base), dst = dstP.base, coef = coefP.base
                    for y in (height * band / bands)..<(height * (band + 1) / bands) {
                        let srcRow = src + y * width * 3
                        let dstRow = dst + y * outWidth * 3
                        for x in 0..<outWidth {
                            let w = coef + x * taps.stride
                            var p = srcRow + taps.starts[x] * 3
                            var r = bias, g = bias, b = bias
                            for k in 0..<taps.counts[x] {
                                let wk = w[k]
                                r &+= Int32(p[0]) &* wk
                                g &+= Int32(p[1]) &* wk
                                b &+= Int32(p[2]) &* wk
                                p += 3
                            }
                            dstRow[x * 3] = clamp8(r, shift)
                            dstRow[x * 3 + 1] = clamp8(g, shift)
                            dstRow[x * 3 + 2] = clamp8(b, shift)
                        }
                    }
                    }
                }
            }
            initialized = count
        }
    }

    static func vertical(_ pixels: [UInt8], rowLength: Int, height: Int, outHeight: Int) -> [UInt8] {
        let taps = Taps(inSize: height, outSize: outHeight)
        let shift = Int32(taps.precision)
        let bias: Int32 = taps.precision > 0 ? 1 << (shift - 1) : 0
        let count = rowLength * outHeight
        return [UInt8](unsafeUninitializedCapacity: count) { dst, initialized in
            pixels.withUnsafeBufferPointer { src in
                let bands = min(outHeight, Self.bands)
                let srcP = SendablePointer(src.baseAddress!), dstP = SendablePointer(dst.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: bands) { band in
                    let src = UnsafePointer(srcP.base), dst = dstP.base
                    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
                    defer { acc.deallocate() }
                    for y in (outHeight * band / bands)..<(outHeight * (band + 1) / bands) {
                        for i in 0..<rowLength { acc[i] = bias }
                        for k in 0..<taps.counts[y] {
                            let wk = taps.coefficients[y * taps.stride + k]
                            let row = src + (taps.starts[y] + k) * rowLength
                            for i in 0..<rowLength { acc[i] &+= Int32(row[i]) &* wk }
                        }
                        let dstRow = dst + y * rowLength
                        for i in 0..<rowLength { dstRow[i] = clamp8(acc[i], shift) }
                    }
                }
            }
            initialized = count
        }
    }
}
