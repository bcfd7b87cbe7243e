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
        drawLabel(String(number), at: origin, color: color)
    }

    /// `text` in white capitals on a `color` box with its top-left corner at `origin`, clipped to the
    /// image: how pictures are labelled. Letters are drawn as capitals; characters other than letters,
    /// digits and spaces are left blank.
    public mutating func drawLabel(_ text: String, at origin: Point, color: RGB) {
        let glyphs = text.uppercased().map { Self.glyphs[$0] }
        let scale = 2, glyphWidth = 5 * scale, gap = scale, pad = 3
        let width = glyphs.count * (glyphWidth + gap) - gap + 2 * pad, height = 7 * scale + 2 * pad
        fillRect(Rect(x: origin.x, y: origin.y, width: width, height: height), color: color)
        for (index, glyph) in glyphs.enumerated() {
            for (row, bits) in (glyph ?? []).enumerated() {
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

    /// The outline of `rect`, `thickness` pixels wide and drawn just outside it (so it covers none of
    /// what it surrounds), clipped to the image: how a region is marked.
    public mutating func drawOutline(of rect: Rect, color: RGB, thickness: Int = 2) {
        let outer = Rect(x: rect.x - thickness, y: rect.y - thickness, width: rect.width + 2 * thickness, height: rect.height + 2 * thickness)
        fillRect(Rect(x: outer.x, y: outer.y, width: outer.width, height: thickness), color: color)
        fillRect(Rect(x: outer.x, y: rect.maxY, width: outer.width, height: thickness), color: color)
        fillRect(Rect(x: outer.x, y: rect.y, width: thickness, height: rect.height), color: color)
        fillRect(Rect(x: rect.maxX, y: rect.y, width: thickness, height: rect.height), color: color)
    }

    private mutating func fillSquare(center: Point, radius: Int, color: RGB) {
        fillRect(Rect(x: center.x - radius, y: center.y - radius, width: 2 * radius + 1, height: 2 * radius + 1), color: color)
    }

    /// 5×7 bitmaps of the digits and capital letters, one row per entry, most significant of 5 bits on the left.
    private static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
    ]
}
