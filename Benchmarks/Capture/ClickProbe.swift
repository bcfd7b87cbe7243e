import CX11
import Glibc
import Imaging

/// A second, independent X client that owns a window and reports when pointer events reach it:
/// the receiving end of the click-latency benchmark (the `InputController` is the sending end).
///
/// It has its own Xlib connection, so it sees events exactly as another application would: the time
/// from `XTestFakeButtonEvent` to `ButtonPress` here covers the sender's request, the server's
/// dispatch and the delivery over a second socket.
final class ClickProbe {
    private let display: OpaquePointer
    private let window: UInt
    private let fd: Int32
    /// The probe window's area in root coordinates.
    let area: Rect

    /// Opens `displayName`, creates an override-redirect window over `area` (so no window manager
    /// moves it) that selects button events, maps it on top and waits for its `MapNotify`.
    init(displayName: String, area: Rect) throws(BenchError) {
        guard let display = XOpenDisplay(displayName) else {
            throw BenchError("click probe: cannot open a second connection to X display '\(displayName)'")
        }
        let screen = XDefaultScreen(display)
        let root = XRootWindow(display, screen)
        let window = XCreateSimpleWindow(
            display, root, Int32(area.x), Int32(area.y), UInt32(area.width), UInt32(area.height), 0, 0, 0x33_66_CC)
        var attributes = XSetWindowAttributes()
        attributes.override_redirect = 1
        XChangeWindowAttributes(display, window, UInt(CWOverrideRedirect), &attributes)
        XSelectInput(display, window, cx11_button_event_mask)
        XMapRaised(display, window)
        self.display = display
        self.window = window
        self.area = area
        fd = XConnectionNumber(display)
        guard waitFor(MapNotify, timeoutMilliseconds: 5_000) != nil else {
            throw BenchError("click probe: the probe window was not mapped within 5 s")
        }
    }

    deinit {
        XDestroyWindow(display, window)
        XCloseDisplay(display)
    }

    /// Reads events until one of `type` arrives (returning it) or `timeoutMilliseconds` pass with
    /// nothing more to read (returning nil). Events of other types are dropped.
    ///
    /// Corresponding Xlib calls: `XPending` (flushes, reads what the socket holds without blocking),
    /// `XNextEvent`; `poll` on `XConnectionNumber` to sleep until the server writes.
    func waitFor(_ type: Int32, timeoutMilliseconds: Int32) -> XEvent? {
        var event = XEvent()
        while true {
            while XPending(display) > 0 {
                XNextEvent(display, &event)
                if event.type == type { return event }
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMilliseconds)
            if ready == 0 { return nil }
            if ready < 0 && errno != EINTR { return nil }
        }
    }

    /// Drops every event already queued or readable without blocking.
    func drain() {
        var event = XEvent()
        while XPending(display) > 0 { XNextEvent(display, &event) }
    }
}
