import Foundation

extension RGBImage {
    /// Draws a target marker (a ring with a cross through it) centred on `point`, clipped to the image:
    /// how plans and reports show where an action lands.
    public mutating func drawMarker(at point: Point, radius: Int = 14, color: RGB = RGB(hex: 0xFF2020), thickness: Int = 2) {
        let outer = Double(radius), inner = Double(radius - thickness)
        for dy in -radius - 4...radius + 4 {
            for dx in -radius - 4...radius + 4 {
                let x = point.x + dx, y = point.y + dy
                guard x >= 0, x < width, y >= 0, y < height else { continue }
                let distance = Double(dx * dx + dy * dy).squareRoot()
                let onRing = distance <= outer && distance >= inner
                let onCross = (abs(dx) < thickness || abs(dy) < thickness) && distance <= outer + 4
                if onRing || onCross { self[x, y] = color }
            }
        }
    }
}

extension RGBImage {
    /// Draws a straight line `thickness` pixels wide, clipped to the image.
    public mutating func drawLine(from start: Point, to end: Point, color: RGB, thickness: Int = 3) {
        let steps = max(abs(end.x - start.x), abs(end.y - start.y), 1)
        let radius = thickness / 2
        for step in 0...steps {
            let t = Double(step) / Double(steps)
            let x = start.x + Int((Double(end.x - start.x) * t).rounded()), y = start.y + Int((Double(end.y - start.y) * t).rounded())
            fillSquare(center: Point(x: x, y: y), radius: radius, color: color)
        }
    }

    /// A line from `start` to `end` with an arrow head at `end`: how a plan shows a drag.
    public mutating func drawArrow(from start: Point, to end: Point, color: RGB, thickness: Int = 3) {
        drawLine(from: start, to: end, color: color, thickness: thickness)
        let angle = atan2(Double(end.y - start.y), Double(end.x - start.x))
        for side in [-0.5, 0.5] {
            let back = angle + .pi + side
            let tip = Point(x: end.x + Int((cos(back) * 16).rounded()), y: end.y + Int((sin(back) * 16).rounded()))
            drawLine(from: end, to: tip, color: color, thickness: thickness)
        }
    }

    /// A numbered badge (white digits on `color`) with its top-left corner at `origin`, clipped to the image.
    public mutating func drawBadge(_ number: Int, at origin: Point, color: RGB) {
        let digits = Array(String(number)).compactMap { $0.wholeNumberValue }
        let scale = 2, glyphWidth = 5 * scale, gap = scale, pad = 3
        let width = digits.count * (glyphWidth + gap) - gap + 2 * pad, height = 7 * scale + 2 * pad
        fillRect(Rect(x: origin.x, y: origin.y, width: width, height: height), color: color)
        for (index, digit) in digits.enumerated() {
            for (row, bits) in Self.digitGlyphs[digit].enumerated() {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    fillRect(Rect(x: origin.x + pad + index * (glyphWidth + gap) + column * scale, y: origin.y + pad + row * scale,
                                  width: scale, height: scale), color: RGB(hex: 0xFFFFFF))
                }
            }
        }
    }

    /// Fills a rectangle, clipped to the image.
    public mutating func fillRect(_ rect: Rect, color: RGB) {
        guard let clipped = rect.intersection(bounds) else { return }
        for y in clipped.y..<clipped.maxY {
            for x in clipped.x..<clipped.maxX { self[x, y] = color }
        }
    }

    private mutating func fillSquare(center: Point, radius: Int, color: RGB) {
        fillRect(Rect(x: center.x - radius, y: center.y - radius, width: 2 * radius + 1, height: 2 * radius + 1), color: color)
    }

    /// 5×7 bitmaps of the digits 0–9, one row per entry, most significant of 5 bits on the left.
    private static let digitGlyphs: [[UInt8]] = [
        [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
    ]
}
