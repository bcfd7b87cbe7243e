import Keys
internal import CX11
import Foundation
import Glibc
import Synchronization

/// A key chord grabbed on the X server for the length of a run: pressing it (anywhere, whatever
/// window has the focus) asks the run to stop. The agent checks ``isPressed`` between steps and
/// between synthetic events, so it stops within one step and releases everything it holds.
///
/// The grab lives on its own X connection, owned by a background thread that waits for the key.
public final class AbortHotkey: Sendable {
    /// The chord as given, e.g. "ctrl+alt+Escape".
    public let chord: String
    /// Shared with the watcher thread, which must not hold the hotkey itself: the grab ends when the
    /// hotkey goes away, so a long-lived process (`serve`, `mcp`) can grab it again for its next run.
    private let state = WatchState()

    private final class WatchState: Sendable {
        let pressed = Atomic<Bool>(false)
        /// A pipe written once to wake the watcher out of `poll` when the hotkey goes away: [read, write].
        let wake: [Int32]
        /// Signalled by the watcher once the grab is released and its connection closed.
        let finished = DispatchSemaphore(value: 0)

        init() {
            var ends: [Int32] = [-1, -1]
            _ = pipe(&ends)
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            wake = ends
        }

        deinit { wake.forEach { _ = close($0) } }
    }

    /// Grabs `chord` on display `name`. Corresponding Xlib call: `XGrabKey` (once per combination of
    /// Caps Lock and Num Lock, which would otherwise make the grab miss).
    public init(chord text: String, display name: String) throws(DesktopError) {
        let chord: KeyChord
        do { chord = try KeyChord(parsing: text) } catch { throw DesktopError(.invalidArgument, error.message) }
        guard let key = chord.keys.last, let keysym = KeyNames.keysym(for: key) else {
            throw DesktopError(.untypable, "the abort key '\(text)' names no key")
        }
        var modifiers: UInt32 = 0
        for name in chord.keys.dropLast() {
            guard let modifier = Modifier(keyName: name) else {
                throw DesktopError(.untypable, "'\(name)' in the abort key '\(text)' is not a modifier (ctrl, alt, shift, super)")
            }
            modifiers |= modifier.mask
        }
        guard let raw = Xlib.openDisplay(name) else {
            throw DesktopError(.connectionFailed, "cannot open a second connection to X display '\(name)' for the abort key")
        }
        let keycode = XKeysymToKeycode(raw, keysym.rawValue)
        guard keycode != 0 else {
            XCloseDisplay(raw)
            throw DesktopError(.untypable, "the abort key '\(text)' is not on the keyboard")
        }
        let root = XDefaultRootWindow(raw)
        XErrorTrap.clear(raw)
        for extra in [0, CX11ModifierMask.lock.rawValue, CX11ModifierMask.mod2.rawValue,
                      CX11ModifierMask.lock.rawValue | CX11ModifierMask.mod2.rawValue] {
            XGrabKey(raw, Int32(keycode), modifiers | extra, root, 0, GrabModeAsync, GrabModeAsync)
        }
        XSync(raw, 0)
        if let error = XErrorTrap.take(raw) {
            XCloseDisplay(raw)
            throw DesktopError(.invalidArgument, "cannot grab the abort key '\(text)': another program holds it (\(error))")
        }
        self.chord = text
        let connection = UncheckedDisplay(raw: raw)
        Thread.detachNewThread { [state] in Self.watch(connection, state: state) }
    }

    deinit {
        // Wait for the ungrab (a fraction of a millisecond), so the next run in the same process can grab the chord again.
        var byte: UInt8 = 1
        _ = write(state.wake[1], &byte, 1)
        state.finished.wait()
    }

    /// Whether the chord has been pressed since the run started.
    public var isPressed: Bool { state.pressed.load(ordering: .relaxed) }

    private static func watch(_ connection: UncheckedDisplay, state: WatchState) {
        let raw = connection.raw
        var descriptors = [pollfd(fd: XConnectionNumber(raw), events: Int16(POLLIN), revents: 0),
                           pollfd(fd: state.wake[0], events: Int16(POLLIN), revents: 0)]
        while descriptors[1].revents == 0 {
            while XPending(raw) > 0 {
                var event = XEvent()
                XNextEvent(raw, &event)
                if event.type == KeyPress { state.pressed.store(true, ordering: .relaxed) }
            }
            // A dead X connection reports POLLHUP at once; the wake descriptor still ends the loop.
            if poll(&descriptors, 2, -1) > 0, descriptors[0].revents & Int16(POLLHUP | POLLERR) != 0 { descriptors[0].fd = -1 }
        }
        XUngrabKey(raw, Int32(AnyKey), UInt32(AnyModifier), XDefaultRootWindow(raw))
        XCloseDisplay(raw)
        state.finished.signal()
    }
}

/// The grab connection, handed once to the thread that owns it from then on.
private struct UncheckedDisplay: @unchecked Sendable {
    let raw: OpaquePointer
}
