import CX11
public import Desktop
public import Imaging

/// Changes the screen as another X client would, over a connection of the test's own: what the agent
/// must notice between the screenshot the model saw and the input it sends.
public enum OtherClient {
    /// Moves a top-level window. Corresponding Xlib call: `XMoveWindow`.
    public static func move(window: UInt, to origin: Point, on display: VirtualDisplay) {
        guard let connection = XOpenDisplay(display.name) else { preconditionFailure("cannot open \(display.name)") }
        XMoveWindow(connection, window, Int32(origin.x), Int32(origin.y))
        XSync(connection, 0)
        XCloseDisplay(connection)
    }

    /// The topmost top-level window whose frame starts at `origin`, waiting until there is one (throws after `timeout` seconds).
    public static func window(at origin: Point, on display: Display, timeout: Double = 10) throws -> TopLevelWindow {
        var found: TopLevelWindow?
        try waitUntil("a window at \(origin)", timeout: timeout) {
            found = display.topLevelWindows().last { $0.frame.origin == origin }
            return found != nil
        }
        return found!
    }
}
