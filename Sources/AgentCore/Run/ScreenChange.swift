import Foundation
public import Imaging

/// How two screenshots of the same area differ: what the loop uses to wait for the screen to settle
/// and to check that a step did something.
public struct ScreenChange: Sendable, Equatable {
    /// Pixels that differ anywhere.
    public let changedPixels: Int
    /// Pixels that differ within ``nearRadius`` of the action's target (0 when there is no target).
    public let changedNearTarget: Int

    /// Half the side of the square around a target that counts as "near".
    public static let nearRadius = 48
    /// Fewer changed pixels than this count as no change: a thin blinking text cursor. One typed
    /// character changes 20–40 pixels, so the floor stays below that.
    public static let noiseFloor = 12

    /// Compares two images; `target` is in their pixel coordinates. Images of different sizes (the
    /// screen was resized between them) differ everywhere.
    public init(from before: RGBImage, to after: RGBImage, near target: Point? = nil) {
        guard before.size == after.size else {
            changedPixels = max(before.width * before.height, after.width * after.height)
            changedNearTarget = 0
            return
        }
        var changed = 0, near = 0
        let width = before.width
        let box = target.map { Rect(x: $0.x - Self.nearRadius, y: $0.y - Self.nearRadius, width: 2 * Self.nearRadius, height: 2 * Self.nearRadius) }
        before.pixels.withUnsafeBufferPointer { a in
            after.pixels.withUnsafeBufferPointer { b in
                var i = 0
                let count = a.count
                while i < count {
                    // Compare 8 bytes at a time where possible; fall back to the pixel when they differ.
                    if i + 24 <= count,
                       UnsafeRawPointer(a.baseAddress! + i).loadUnaligned(as: (UInt64, UInt64, UInt64).self)
                        == UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: (UInt64, UInt64, UInt64).self) {
                        i += 24
                        continue
                    }
                    let end = min(i + 24, count)
                    var p = i
                    while p < end {
                        if a[p] != b[p] || a[p + 1] != b[p + 1] || a[p + 2] != b[p + 2] {
                            changed += 1
                            if let box {
                                let pixel = p / 3
                                if box.contains(Point(x: pixel % width, y: pixel / width)) { near += 1 }
                            }
                        }
                        p += 3
                    }
                    i = end
                }
            }
        }
        changedPixels = changed
        changedNearTarget = near
    }

    public var isNothing: Bool { changedPixels < Self.noiseFloor }
}

/// What a step did to the screen, as told to the model and recorded.
public enum Verification: Sendable, Equatable, CustomStringConvertible {
    /// The screen changed near where the action aimed.
    case changedNearTarget(pixels: Int)
    /// The screen changed, but not near the target.
    case changedElsewhere(pixels: Int)
    /// The screen changed after an action without a target (typing, a key).
    case changed(pixels: Int)
    /// Nothing visible changed.
    case unchanged

    public init(_ change: ScreenChange, hasTarget: Bool) {
        if change.isNothing {
            self = .unchanged
        } else if !hasTarget {
            self = .changed(pixels: change.changedPixels)
        } else if change.changedNearTarget >= ScreenChange.noiseFloor / 2 {
            self = .changedNearTarget(pixels: change.changedPixels)
        } else {
            self = .changedElsewhere(pixels: change.changedPixels)
        }
    }

    public var description: String {
        switch self {
        case .changedNearTarget(let pixels): "the screen changed near the target (\(pixels) pixels)"
        case .changedElsewhere(let pixels): "the screen changed, not near the target (\(pixels) pixels)"
        case .changed(let pixels): "the screen changed (\(pixels) pixels)"
        case .unchanged: "nothing on the screen changed"
        }
    }
}
