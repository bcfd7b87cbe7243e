import Foundation
public import Imaging

/// Where a recorded step acted on its "before" screenshot: what replay compares before sending the
/// step again, and what the report zooms into.
public enum StepFocus: Sendable, Equatable {
    /// The point its first pointer action aimed at, in screenshot pixels.
    case target(Point)
    /// The box around what changed between the step's before and after frames: where typing or a
    /// key landed, for a step without a target.
    case changed(Rect)
    /// No target and no visible change (or no after frame): only the whole screen can tell.
    case wholeScreen

    public init(_ step: StepRecord, before: RGBImage, after: RGBImage?) {
        if let image = step.performed.lazy.compactMap({ $0.point?.image }).first(where: { $0.count == 2 }) {
            self = .target(Point(x: image[0], y: image[1]))
        } else if let after, let region = before.changedRegion(to: after) {
            self = .changed(region)
        } else {
            self = .wholeScreen
        }
    }

    /// The same place on a screenshot of size `live` (the coordinate contract: pixel centres scale).
    public func scaled(from recorded: Size, to live: Size) -> StepFocus {
        switch self {
        case .target(let point):
            return .target(point.scaled(from: recorded, to: live))
        case .changed(let box):
            // Every live pixel the box touches: its near edges rounded down, its far edges up.
            let x = box.x * live.width / recorded.width, y = box.y * live.height / recorded.height
            let right = (box.maxX * live.width + recorded.width - 1) / recorded.width
            let bottom = (box.maxY * live.height + recorded.height - 1) / recorded.height
            return .changed(Rect(x: x, y: y, width: right - x, height: bottom - y))
        case .wholeScreen:
            return .wholeScreen
        }
    }
}

extension RGB {
    /// How reports and replay pictures mark where a step acted.
    package static let mark = RGB(hex: 0xE0301E)
}

extension RGBImage {
    /// Outlines a changed box a few pixels off, so the outline covers none of what changed (typed text).
    package mutating func outlineChange(_ box: Rect) {
        drawOutline(of: Rect(x: box.x - 3, y: box.y - 3, width: box.width + 6, height: box.height + 6), color: .mark)
    }
}

extension Point {
    /// The pixel of a `live`-sized screenshot whose centre lies where this pixel's centre lies in a
    /// `recorded`-sized one.
    package func scaled(from recorded: Size, to live: Size) -> Point {
        Point(x: Int(((Double(x) + 0.5) * Double(live.width) / Double(recorded.width)).rounded(.down)),
              y: Int(((Double(y) + 0.5) * Double(live.height) / Double(recorded.height)).rounded(.down)))
    }
}

extension RGBImage {
    /// The smallest rectangle holding every pixel that differs from `other`; nil when the sizes differ
    /// or fewer pixels than ``ScreenChange/noiseFloor`` differ (a blinking text cursor is no change).
    public func changedRegion(to other: RGBImage) -> Rect? {
        guard size == other.size else { return nil }
        var left = width, top = height, right = -1, bottom = -1, changed = 0
        let rowBytes = width * 3
        pixels.withUnsafeBufferPointer { a in
            other.pixels.withUnsafeBufferPointer { b in
                for y in 0..<height {
                    let row = y * rowBytes
                    // Most rows of two screenshots are identical: skip them whole.
                    if memcmp(a.baseAddress! + row, b.baseAddress! + row, rowBytes) == 0 { continue }
                    for x in 0..<width {
                        let i = row + 3 * x
                        guard a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2] else { continue }
                        changed += 1
                        (left, right, top, bottom) = (min(left, x), max(right, x), min(top, y), max(bottom, y))
                    }
                }
            }
        }
        guard changed >= ScreenChange.noiseFloor else { return nil }
        return Rect(x: left, y: top, width: right - left + 1, height: bottom - top + 1)
    }
}
