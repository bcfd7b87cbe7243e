import Dispatch
public import Imaging

extension Qwen3VL {
    /// Turns an RGB image into the vision tower's input exactly like transformers' default Qwen3-VL
    /// image processor (the torchvision backend, `Qwen2VLImageProcessorFast`-style):
    /// `smartResize` → antialiased bicubic resize on uint8 (skipped when the size already fits) →
    /// `(p − mean·255) / (std·255)` in Float → the frame repeated `temporalPatchSize` times →
    /// patches flattened in merge-window order.
    ///
    /// `pixelValues` is `[grid.t · grid.h · grid.w, 3 · temporalPatchSize · patchSize²]`, row-major.
    /// Rows run (frame group, block row, block column, row in window, column in window); inside a row
    /// the column of channel c, frame t, patch pixel (py, px) is `((c·T + t)·P + py)·P + px`.
    public struct ImageProcessor: Sendable {
        public let config: PreprocessorConfig
        public let minPixels: Int
        public let maxPixels: Int

        /// `minPixels` / `maxPixels` override the config's limits (`size.shortest_edge/longest_edge`).
        public init(config: PreprocessorConfig = PreprocessorConfig(), minPixels: Int? = nil, maxPixels: Int? = nil) {
            self.config = config
            self.minPixels = minPixels ?? config.minPixels
            self.maxPixels = maxPixels ?? config.maxPixels
        }

        /// Resize granularity: `patchSize · mergeSize` (32 for Qwen3-VL).
        public var factor: Int { config.patchSize * config.mergeSize }

        /// transformers' `smart_resize`: both sides multiples of `factor`, area within
        /// `[minPixels, maxPixels]`, aspect ratio kept as well as possible. Float64 arithmetic and
        /// Python's round-half-to-even, like the reference. (The reference rejects aspect ratios above
        /// 200; this computes a size anyway.)
        public func smartResize(height: Int, width: Int) -> Size {
            let factor = Double(factor)
            let h = Double(height), w = Double(width)
            var hBar = (h / factor).rounded(.toNearestOrEven) * factor
            var wBar = (w / factor).rounded(.toNearestOrEven) * factor
            if hBar * wBar > Double(maxPixels) {
                let beta = (h * w / Double(maxPixels)).squareRoot()
                hBar = max(factor, (h / beta / factor).rounded(.down) * factor)
                wBar = max(factor, (w / beta / factor).rounded(.down) * factor)
            } else if hBar * wBar < Double(minPixels) {
                let beta = (Double(minPixels) / (h * w)).squareRoot()
                hBar = (h * beta / factor).rounded(.up) * factor
                wBar = (w * beta / factor).rounded(.up) * factor
            }
            return Size(width: Int(wBar), height: Int(hBar))
        }

        /// The vision tower's `pixel_values` and `grid_thw` for one image.
        public func process(_ image: RGBImage) -> (pixelValues: [Float], grid: Grid) {
            var values: [Float] = []
            let grid = process(image, into: &values)
            return (values, grid)
        }

        /// Like `process(_:)`, writing `pixel_values` into `pixelValues` (resized to fit, its storage
        /// reused when large enough), so a caller processing frame after frame avoids faulting in a
        /// fresh tensor (tens of MB for a screenshot) every time.
        @discardableResult
        public func process(_ image: RGBImage, into pixelValues: inout [Float]) -> Grid {
            let resized = resized(image)
            return patchify(resized.pixels, width: resized.width, height: resized.height, into: &pixelValues)
        }

        /// The image at its `smartResize` size, resampled as the vision tower's input is (the image itself
        /// when it already has that size), so an agent can show a served model the same pixels.
        public func resized(_ image: RGBImage) -> RGBImage {
            precondition(image.width > 0 && image.height > 0, "empty image")
            let size = smartResize(height: image.height, width: image.width)
            if size == image.size { return image }
            return RGBImage(width: size.width, height: size.height,
                            pixels: BicubicResampler.resize(image.pixels, width: image.width, height: image.height,
                                                            outWidth: size.width, outHeight: size.height))
        }

        /// Normalises and flattens an already resized image (sides multiples of `factor`).
        func patchify(_ pixels: [UInt8], width: Int, height: Int, into out: inout [Float]) -> Grid {
            let p = config.patchSize, m = config.mergeSize, frames = config.temporalPatchSize
            let gridH = height / p, gridW = width / p
            precondition(gridH * p == height && gridW * p == width && gridH % m == 0 && gridW % m == 0,
                         "\(width)x\(height) is not a multiple of \(p * m)")
            // The reference fuses rescale and normalise: (p - mean/rescale) / (std/rescale) in Float32.
            var table = [Float](repeating: 0, count: 3 * 256)
            for c in 0..<3 {
                let mean = Float(config.imageMean[c < config.imageMean.count ? c : 0]) * Float(255.0)
                let std = Float(config.imageStd[c < config.imageStd.count ? c : 0]) * Float(255.0)
                for v in 0..<256 { table[c * 256 + v] = (Float(v) - mean) / std }
            }
            let rowLength = 3 * frames * p * p
            let frameLength = p * p
            let count = gridH * gridW * rowLength
            if out.count != count {
                if out.capacity >= count {
                    out.removeAll(keepingCapacity: true)
                    out.append(contentsOf: repeatElement(0, count: count))
                } else {
                    // Every element is written below; skip the zero fill.
                    out = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
                }
            }
            pixels.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { table in
                    out.withUnsafeMutableBufferPointer { dst in
                        let src = src.baseAddress!, dst = dst.baseAddress!, table = table.baseAddress!
                        // Up to 8 bands of whole patch rows, written concurrently (disjoint output rows).
                        let bands = min(gridH, 8)
                        let srcP = SendablePointer(src), dstP = SendablePointer(dst), tableP = SendablePointer(table)
                        DispatchQueue.concurrentPerform(iterations: bands) { band in
                        let src = UnsafePointer(srcP.base), dst = dstP.base, table = UnsafePointer(tableP.base)
                        for y in (gridH * band / bands * p)..<(gridH * (band + 1) / bands * p) {
                            let by = y / p, py = y % p
                            let windowRow = by / m, ir = by % m
                            let srcRow = src + y * width * 3
                            for bx in 0..<gridW {
                                let row = ((windowRow * (gridW / m) + bx / m) * m + ir) * m + bx % m
                                let srcPatch = srcRow + bx * p * 3
                                for c in 0..<3 {
                                    let lut = table + c * 256
                                    let first = dst + row * rowLength + (c * frames * p + py) * p
                                    for px in 0..<p { first[px] = lut[Int(srcPatch[px * 3 + c])] }
                                    for t in 1..<max(frames, 1) {
                                        (first + t * frameLength).update(from: first, count: p)
                                    }
                                }
                            }
                        }
                        }
                    }
                }
            }
            return Grid(t: 1, h: gridH, w: gridW, mergeSize: m)
        }
    }
}
