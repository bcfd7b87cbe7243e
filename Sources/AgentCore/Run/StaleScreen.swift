public import Imaging

/// What the desktop looked like, besides its pixels, when the model was shown a screenshot: the
/// screen's geometry, the top-level windows and which one had the keyboard focus. The loop takes
/// one with every observation and another before sending input, so that it never acts on a screen
/// that changed while the model was thinking.
public struct ScreenLayout: Sendable, Equatable {
    /// The root window's size.
    public var screen: Size
    /// The RandR monitors, in root-window pixels.
    public var monitors: [Rect]
    /// The viewable top-level windows, bottom to top.
    public var windows: [Window]
    /// The top-level window that holds the keyboard focus (nil: no window, or the focus follows the pointer).
    public var focus: UInt?

    public struct Window: Sendable, Equatable {
        /// The X window id.
        public var id: UInt
        /// Where it is, border included, in root-window pixels.
        public var frame: Rect

        public init(id: UInt, frame: Rect) {
            self.id = id
            self.frame = frame
        }
    }

    public init(screen: Size, monitors: [Rect], windows: [Window], focus: UInt?) {
        self.screen = screen
        self.monitors = monitors
        self.windows = windows
        self.focus = focus
    }

    /// The topmost window that contains a root-window point.
    public func window(at point: Point) -> Window? {
        windows.last { $0.frame.contains(point) }
    }
}

/// Why an action was not sent: the screen is no longer the one the model saw.
public enum StaleScreen: Sendable, Equatable, CustomStringConvertible {
    /// The screen's size or monitor layout changed (RandR).
    case geometry(from: Size, to: Size, monitorsFrom: [Rect], monitorsTo: [Rect])
    /// The window under the target is gone.
    case windowClosed(id: UInt)
    /// The window under the target is still there, somewhere else or with another size.
    case windowMoved(id: UInt, from: Rect, to: Rect)
    /// Another window is now under the target (one opened above it, or the one there went away).
    case windowCovered(was: UInt?, now: UInt?)
    /// The keyboard focus moved to another window (a dialog opened, say).
    case focusMoved(from: UInt?, to: UInt?)
    /// The pixels around the target changed, in the same window.
    case pixelsChanged(changed: Int, of: Int)

    /// The session's name for the reason.
    public var kind: String {
        switch self {
        case .geometry: "screen_geometry_changed"
        case .windowClosed: "window_closed"
        case .windowMoved: "window_moved"
        case .windowCovered: "window_covered"
        case .focusMoved: "focus_moved"
        case .pixelsChanged: "pixels_changed"
        }
    }

    /// What the model is told: no screen pixels and no window ids (the model reads only its own world).
    public var forModel: String {
        switch self {
        case .geometry: "the screen's resolution or monitor layout changed"
        case .windowClosed: "the window at that point closed"
        case .windowMoved: "the window at that point moved or changed size"
        case .windowCovered: "another window is now at that point"
        case .focusMoved: "the keyboard focus moved to another window (a dialog may have opened)"
        case .pixelsChanged: "what was at that point changed"
        }
    }

    /// For the session and the terminal: the facts, in root-window pixels and window ids.
    public var description: String {
        func id(_ window: UInt?) -> String { window.map { "0x" + String($0, radix: 16) } ?? "none" }
        return switch self {
        case .geometry(let from, let to, let monitorsFrom, let monitorsTo):
            from == to ? "the monitor layout changed from \(monitorsFrom) to \(monitorsTo)" : "the screen changed size from \(from) to \(to)"
        case .windowClosed(let window): "window \(id(window)) under the target closed"
        case .windowMoved(let window, let from, let to): "window \(id(window)) under the target moved from \(from) to \(to)"
        case .windowCovered(let was, let now): "the window under the target is \(id(now)), was \(id(was))"
        case .focusMoved(let from, let to): "the keyboard focus moved from window \(id(from)) to \(id(to))"
        case .pixelsChanged(let changed, let total): "\(changed) of the \(total) pixels around the target changed"
        }
    }
}

/// The check between the observation the model saw and the input sent for it: pure, so the loop's
/// rule tests run it over fakes.
public enum PreActionCheck {
    /// Half the side of the box around a target whose pixels must still match the screenshot.
    public static let boxRadius = 12
    /// The share of the box's pixels that may differ (a blinking text cursor, a caret) before the
    /// target counts as changed.
    public static let tolerance = 0.15

    /// Why `resolved` must not be sent now, or nil when the screen is still the one the model saw.
    ///
    /// The geometry always counts. The windows, the focus and the pixels count for an action that
    /// nothing preceded in its step: after the step's own input (or a `wait` the model asked for) the
    /// screen is expected to change, and only the geometry is the model's still.
    /// - Parameters:
    ///   - seen: the screenshot the model saw, and `live`, one taken now (nil: no pixel check).
    ///   - imagePoint: maps a root-window point to the screenshot's pixels.
    public static func stale(_ resolved: ResolvedAction, observed: ScreenLayout, now: ScreenLayout, firstInStep: Bool,
                             seen: RGBImage?, live: RGBImage?, imagePoint: (Point) -> Point) -> StaleScreen? {
        if observed.screen != now.screen || observed.monitors != now.monitors {
            return .geometry(from: observed.screen, to: now.screen, monitorsFrom: observed.monitors, monitorsTo: now.monitors)
        }
        guard firstInStep else { return nil }
        let points = [resolved.startPoint, resolved.point].compactMap { $0 }
        guard let pressed = points.first else {
            // Keys and typing go to the focused window.
            return observed.focus == now.focus ? nil : .focusMoved(from: observed.focus, to: now.focus)
        }
        for point in points {
            if let reason = windowChange(at: point, observed: observed, now: now) { return reason }
        }
        if let seen, let live, seen.size == live.size {
            let (changed, total) = changedPixels(around: imagePoint(pressed), seen, live)
            if Double(changed) > tolerance * Double(total) { return .pixelsChanged(changed: changed, of: total) }
        }
        return nil
    }

    static func windowChange(at point: Point, observed: ScreenLayout, now: ScreenLayout) -> StaleScreen? {
        let was = observed.window(at: point), there = now.window(at: point)
        if let was, was.id != there?.id {
            // The window the model aimed at: closed, moved away from the point, or covered.
            guard let moved = now.windows.first(where: { $0.id == was.id }) else { return .windowClosed(id: was.id) }
            if moved.frame != was.frame { return .windowMoved(id: was.id, from: was.frame, to: moved.frame) }
            return .windowCovered(was: was.id, now: there?.id)
        }
        if let was, let there, was.frame != there.frame { return .windowMoved(id: was.id, from: was.frame, to: there.frame) }
        if was == nil, let there { return .windowCovered(was: nil, now: there.id) }
        return nil
    }

    /// Pixels that differ in the box around `center` (clipped to the image), and how many the box holds.
    static func changedPixels(around center: Point, _ a: RGBImage, _ b: RGBImage) -> (changed: Int, total: Int) {
        let xs = max(0, center.x - boxRadius)..<min(a.width, center.x + boxRadius + 1)
        let ys = max(0, center.y - boxRadius)..<min(a.height, center.y + boxRadius + 1)
        var changed = 0
        for y in ys {
            for x in xs where a[x, y] != b[x, y] { changed += 1 }
        }
        return (changed, xs.count * ys.count)
    }
}
