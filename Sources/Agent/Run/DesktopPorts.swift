public import AgentCore
public import Desktop
public import Imaging

// The loop reaches the desktop only through these three small protocols, so its rules (settle,
// verify, retry, stuck detection, budgets, abort, feedback) run against in-memory fakes in tests
// and against X11 (``X11Desktop``) in real runs.

/// Screenshots of the area the agent works in (a monitor, or the whole screen).
public protocol ScreenSource: Sendable {
    /// Where the area's top-left pixel is on the root window, and how large it is.
    var area: Rect { get }
    func capture() async throws -> RGBImage
    /// Reads the screen's geometry again after a RandR change and makes ``area`` follow it (the same
    /// monitor, or the whole screen); the new area.
    func followGeometry() async throws -> Rect
}

/// Synthetic input. `wait`, `terminate`, `answer` and `call_user` never reach it: the loop handles them.
public protocol InputSink: Sendable {
    /// Sends the events of one input action; on abort or error every pressed key and button is released.
    func perform(_ action: ResolvedAction) async throws
    /// The events sent since the last call, for the session.
    func drainSentEvents() async -> [SentInputEvent]
    /// Releases every key and button still held (the run ends, whatever the reason).
    func releaseAll() async
}

/// Which application a point or the keyboard focus belongs to, for the `--only-window` rule.
public protocol WindowInspector: Sendable {
    /// The `WM_CLASS` class of the top-level window under a root-window point.
    func windowClass(at point: Point) async -> String?
    /// The `WM_CLASS` class of the window that has the keyboard focus.
    func focusedWindowClass() async -> String?
    /// The screen's geometry, the top-level windows and the focus now: what the check before each
    /// action compares with the observation (``PreActionCheck``).
    func layout() async throws -> ScreenLayout
}
