import Foundation
import Testing
import TestSupportCore

import CKernels

/// The row-wise C kernels (LayerNorm, RMSNorm, bias, residual, rotary) against plain Swift on
/// seeded random rows: enough rows that the work is split over the cores, and widths with a tail
/// past the last whole vector.
@Suite("Row-wise kernels equal plain loops")
struct RowKernelsTests {
    static func random(_ count: Int, _ generator: inout SeededGenerator, in range: ClosedRange<Float> = -2...2) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &generator) }
    }

    /// The largest |a − b| relative to the largest |b|.
    static func difference(_ a: [Float], _ b: [Float]) -> Float {
        (zip(a, b).map { abs($0 - $1) }.max() ?? .infinity) / max(b.map(abs).max() ?? 0, .leastNormalMagnitude)
    }

    @Test(arguments: [(rows: 300, width: 1024), (rows: 97, width: 37), (rows: 1, width: 5)])
    func layerNorm(rows: Int, width: Int) {
        var generator = SeededGenerator()
        // An offset and a scale per row, as the residual stream has, so the mean and variance matter.
        let x = (0..<rows).flatMap { _ in
            let offset = Float.random(in: -5...5, using: &generator), scale = Float.random(in: 0.1...10, using: &generator)
            return Self.random(width, &generator).map { $0 * scale + offset }
        }
        let weight = Self.random(width, &generator), bias = Self.random(width, &generator), eps: Float = 1e-6
        var expected = [Float](repeating: 0, count: rows * width)
        for r in 0..<rows {
            let row = x[r * width..<(r + 1) * width]
            let mean = Double(row.reduce(0, +)) / Double(width)
            let variance = row.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / Double(width)
            for j in 0..<width {
                expected[r * width + j] = Float((Double(x[r * width + j]) - mean) / (variance + Double(eps)).squareRoot()) * weight[j] + bias[j]
            }
        }
        var out = [Float](repeating: .nan, count: rows * width)
        ckernels_layer_norm(x, weight, bias, rows, width, eps, &out)
        let error = Self.difference(out, expected)
        #expect(error <= 1e-5, "max relative |Δ| \(error), \(generator)")
    }

    @Test(arguments: [(rows: 300, width: 128), (rows: 40, width: 2051)])
    func rmsNormInPlaceAndNot(rows: Int, width: Int) {
        var generator = SeededGenerator()
        let x = Self.random(rows * width, &generator), weight = Self.random(width, &generator), eps: Float = 1e-6
        var expected = [Float](repeating: 0, count: rows * width)
        for r in 0..<rows {
            let squares = x[r * width..<(r + 1) * width].map { Double($0) * Double($0) }.reduce(0, +)
            let scale = 1 / (squares / Double(width) + Double(eps)).squareRoot()
            for j in 0..<width { expected[r * width + j] = weight[j] * Float(Double(x[r * width + j]) * scale) }
        }
        var out = [Float](repeating: .nan, count: rows * width), inPlace = x
        ckernels_rms_norm(x, weight, rows, width, eps, &out)
        inPlace.withUnsafeMutableBufferPointer { ckernels_rms_norm($0.baseAddress!, weight, rows, width, eps, $0.baseAddress!) }
        let error = Self.difference(out, expected)
        #expect(error <= 1e-5, "max relative |Δ| \(error), \(generator)")
        #expect(inPlace == out, "in place as out of place")
    }

    @Test func biasAndResidualAreExactSums() {
        var generator = SeededGenerator()
        let rows = 200, width = 1027
        let x = Self.random(rows * width, &generator), y = Self.random(rows * width, &generator), bias = Self.random(width, &generator)
        var biased = x
        ckernels_add_bias(&biased, bias, rows, width)
        #expect(biased == x.indices.map { x[$0] + bias[$0 % width] }, "\(generator)")
        var summed = x
        ckernels_add(&summed, y, summed.count - 3)
        #expect(summed == x.indices.map { $0 < x.count - 3 ? x[$0] + y[$0] : x[$0] }, "the last three untouched, \(generator)")
    }

    @Test func rotateHalfTurnsEachHeadsPairs() {
        var generator = SeededGenerator()
        // The vision tower's layout: rows of [q heads | k heads | v heads], q and k rotated as 2·heads heads.
        let rows = 150, heads = 4, headDim = 16, stride = 3 * heads * headDim
        let x = Self.random(rows * stride, &generator)
        let angles = Self.random(rows * headDim, &generator, in: -3...3)
        let cos = angles.map { Foundation.cos($0) }, sin = angles.map { Foundation.sin($0) }
        var expected = x
        let half = headDim / 2
        for r in 0..<rows {
            for h in 0..<2 * heads {
                let base = r * stride + h * headDim
                for i in 0..<half {
                    let a = x[base + i], b = x[base + half + i], c = r * headDim + i
                    expected[base + i] = a * cos[c] - b * sin[c]
                    expected[base + half + i] = b * cos[c + half] + a * sin[c + half]
                }
            }
        }
        var rotated = x
        ckernels_rotate_half(&rotated, rows, stride, 2 * heads, headDim, cos, sin)
        let error = Self.difference(rotated, expected)
        #expect(error <= 1e-6, "max relative |Δ| \(error), \(generator)")
        let valueHeads = { (r: Int) in r * stride + 2 * heads * headDim..<(r + 1) * stride }
        #expect((0..<rows).allSatisfy { rotated[valueHeads($0)] == x[valueHeads($0)] }, "the v heads untouched")
    }
}
