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
