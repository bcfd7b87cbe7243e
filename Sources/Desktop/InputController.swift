public import Keys
internal import CX11
import Glibc
public import Imaging
import Logging
import Units

/// A pointer button as X numbers it; 4–7 are the wheel.
public enum MouseButton: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case left = 1, middle = 2, right = 3
    case wheelUp = 4, wheelDown = 5, wheelLeft = 6, wheelRight = 7

    public var description: String {
        switch self {
        case .left: "left"
        case .middle: "middle"
        case .right: "right"
        case .wheelUp: "wheel up"
        case .wheelDown: "wheel down"
        case .wheelLeft: "wheel left"
        case .wheelRight: "wheel right"
        }
    }
}

/// A wheel direction; one step is one wheel click (one press and release of buttons 4–7).
public enum ScrollDirection: String, Sendable, CaseIterable {
    case up, down, left, right

    var button: MouseButton {
        switch self {
        case .up: .wheelUp
        case .down: .wheelDown
        case .left: .wheelLeft
        case .right: .wheelRight
        }
    }
}

/// How fast synthetic input goes. The defaults look like a quick human to toolkits: a double click's
/// clicks are 80 ms apart (GTK and Qt count up to 400 ms, Xt up to 200 ms) and a drag moves in steps.
public struct InputTiming: Sendable {
    /// How long a button or key stays down in a click or a keystroke.
    public var hold: Duration = .milliseconds(12)
    /// From one click's release to the next click's press in a double or triple click.
    public var multiClickGap: Duration = .milliseconds(80)
    /// Between intermediate pointer positions of a drag.
    public var dragStep: Duration = .milliseconds(8)
    /// Between typed characters and between wheel clicks: one tick of the X server's millisecond clock,
    /// so a key's release and the next press never share a timestamp (toolkits take a release and a
    /// press at the same time for auto-repeat). Each event is also synced, so the server keeps up.
    public var keyGap: Duration = .milliseconds(1)
    /// How long a borrowed keycode keeps its temporary keysym after its last keystroke before it is
    /// bound to another or given back. Xlib looks a keystroke up in the server's keymap as it is when
    /// the client reads the event, so a busy client that reads late would see the new symbol, or none.
    public var remapSettle: Duration = .milliseconds(300)

    public init() {}
}

/// One synthetic event this controller sent, as sessions record it.
public struct SentInputEvent: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case motion, buttonDown = "button_down", buttonUp = "button_up", keyDown = "key_down", keyUp = "key_up"
    }

    public let kind: Kind
    /// The pointer position for motion; the button number; or the keycode.
    public let detail: Int
    public let point: Point?
    /// Milliseconds since the controller was made.
    public let milliseconds: Int

    public var description: String {
        "\(kind.rawValue) \(point.map { "\($0)" } ?? String(detail))"
    }
}

/// Synthesises pointer, wheel and keyboard input with XTest.
///
/// Every key and button it presses is tracked and released on every path: when an operation throws
/// (including ``DesktopError/Code/cancelled``), when ``releaseAll()`` is called, and in `deinit`.
/// Keycodes it borrows to type characters missing from the keymap stay bound while it lives (typing
/// the same character again needs no new binding) and are given back by ``releaseAll()`` and `deinit`.
public final class InputController {
    private let display: Display
    public var timing: InputTiming
    /// Polled before every synthetic event; when it returns true the operation stops, releases what it
    /// pressed and throws ``DesktopError/Code/cancelled`` (the CLI wires it to Ctrl-C).
    public var isCancelled: @Sendable () -> Bool
    private var keymap: Keymap
    private var heldButtons: [MouseButton] = []
    private var heldKeys: [KeyCode] = []
    /// Spare keycodes bound to keysyms the keymap lacks, as the server has them now.
    private var borrowed: [(keysym: Keys.KeySym, keycode: KeyCode)] = []
    /// When a borrowed keycode was last pressed: none is rebound or given back until `remapSettle` after.
    private var lastBorrowedKeystroke: ContinuousClock.Instant?
    private var sent: [SentInputEvent] = []
    private let start = ContinuousClock.now

    /// Corresponding Xlib calls: `XTestQueryExtension`, then the keymap reads in ``Keymap``.
    public init(display: Display, timing: InputTiming = InputTiming(), isCancelled: @escaping @Sendable () -> Bool = { false })
        throws(DesktopError)
    {
        var event: Int32 = 0, error: Int32 = 0, major: Int32 = 0, minor: Int32 = 0
        guard XTestQueryExtension(display.raw, &event, &error, &major, &minor) != 0 else {
            throw DesktopError(
                .missingExtension,
                "X display \(display.name) has no XTEST extension, so input cannot be synthesised "
                    + "(start the server with +extension XTEST)")
        }
        self.display = display
        self.timing = timing
        self.isCancelled = isCancelled
        keymap = try Keymap(display: display)
        display.logger.debug("XTest ready", metadata: ["spare-keycodes": "\(keymap.spareKeycodes.count)"])
    }

    deinit {
        releaseAll()
    }

    // MARK: Pointer

    /// Where the pointer is now, in root-window pixels. Corresponding Xlib call: `XQueryPointer`.
    public func pointerPosition() throws(DesktopError) -> Point {
        try queryPointer().position
    }

    /// Moves the pointer. Corresponding Xlib call: `XTestFakeMotionEvent`.
    public func move(to point: Point) throws(DesktopError) {
        try releasingOnFailure {
            try checkInside(point)
            try fakeMotion(point)
        }
    }

    /// Presses a button (and keeps it down). Corresponding Xlib call: `XTestFakeButtonEvent`.
    public func press(_ button: MouseButton, at point: Point? = nil) throws(DesktopError) {
        try releasingOnFailure {
            if let point { try move(to: point) }
            try fakeButton(button, down: true)
        }
    }

    /// Releases a button.
    public func release(_ button: MouseButton, at point: Point? = nil) throws(DesktopError) {
        try releasingOnFailure {
            if let point { try move(to: point) }
            try fakeButton(button, down: false)
        }
    }

    /// How many clicks one `click` may make.
    public static let clickCounts = 1...10
    /// How many wheel clicks one `scroll` may turn.
    public static let scrollSteps = 1...200

    /// Clicks `count` times (2 = double click, 3 = triple click) at `point`, or where the pointer is.
    public func click(_ button: MouseButton = .left, at point: Point? = nil, count: Int = 1) throws(DesktopError) {
        guard Self.clickCounts.contains(count) else {
            throw DesktopError(.invalidArgument, "click count \(count) is out of range (\(Self.clickCounts.lowerBound) to \(Self.clickCounts.upperBound))")
        }
        try releasingOnFailure {
            if let point { try move(to: point) }
            for index in 0..<count {
                if index > 0 { pause(timing.multiClickGap) }
                try fakeButton(button, down: true)
                pause(timing.hold)
                try fakeButton(button, down: false)
            }
        }
    }

    /// Drags with `button` held from `start` (or the current position) to `end`, through intermediate
    /// motion events about every 20 pixels (at least 8): some toolkits ignore a drag without them.
    public func drag(from start: Point? = nil, to end: Point, button: MouseButton = .left) throws(DesktopError) {
        try releasingOnFailure {
            try checkInside(end)
            if let start { try move(to: start) }
            let origin = try pointerPosition()
            try fakeButton(button, down: true)
            pause(timing.hold)
            let distance = Double(max(abs(end.x - origin.x), abs(end.y - origin.y)))
            let steps = min(100, max(8, Int((distance / 20).rounded(.up))))
            for step in 1...steps {
                let t = Double(step) / Double(steps)
                try fakeMotion(Point(x: origin.x + Int((Double(end.x - origin.x) * t).rounded()),
                                     y: origin.y + Int((Double(end.y - origin.y) * t).rounded())))
                pause(timing.dragStep)
            }
            try fakeButton(button, down: false)
        }
    }

    /// Turns the wheel `steps` clicks in `direction`, at `point` or where the pointer is.
    public func scroll(_ direction: ScrollDirection, steps: Int, at point: Point? = nil) throws(DesktopError) {
        guard Self.scrollSteps.contains(steps) else {
            throw DesktopError(.invalidArgument, "scroll of \(steps) steps is out of range (\(Self.scrollSteps.lowerBound) to \(Self.scrollSteps.upperBound))")
        }
        try releasingOnFailure {
            if let point { try move(to: point) }
            for index in 0..<steps {
                if index > 0 { pause(timing.keyGap) }
                try fakeButton(direction.button, down: true)
                try fakeButton(direction.button, down: false)
            }
        }
    }

    // MARK: Keyboard

    /// Presses the chord's keys in order and releases them in reverse (`ctrl+shift+t`).
    ///
    /// A key whose symbol needs Shift (`"?"`, `"T"`) gets Shift added; a key missing from the keymap
    /// is typed through a borrowed keycode.
    public func press(_ chord: KeyChord) throws(DesktopError) {
        let keysyms = try chord.keys.map { name throws(DesktopError) in try keysym(named: name) }
        try releasingOnFailure {
            guard try bindMissing(keysyms[...]) == keysyms.endIndex else {
                throw DesktopError(.untypable, "the chord '\(chord.keys.joined(separator: "+"))' needs more missing keys than the keymap has spare keycodes")
            }
            var pressed: [KeyCode] = []
            for keysym in keysyms {
                let place = try placement(for: keysym)
                if place.shifted, let shift = keymap.shiftKeycode, !pressed.contains(shift) {
                    try fakeKey(shift, down: true)
                    pressed.append(shift)
                }
                try fakeKey(place.keycode, down: true)
                pressed.append(place.keycode)
                pause(timing.keyGap)
            }
            pause(timing.hold)
            for keycode in pressed.reversed() { try fakeKey(keycode, down: false) }
        }
    }

    /// The most characters (Unicode scalars) one ``type(_:progress:)`` sends, about 15 s of typing: more
    /// is almost always a mistake (a file piped in by accident would type for an hour).
    public static let maxTypedCharacters = 10_000

    /// Types `text` exactly. Characters in the keymap are typed with the right Shift level (Caps Lock
    /// accounted for); others (é on a US map, 世, 🙂) through spare keycodes bound to their keysyms
    /// (given back by ``releaseAll()``). `\n` presses Return and `\t` Tab. `progress` is told how
    /// many characters of how many are typed after each one.
    public func type(_ text: String, progress: (_ typed: Int, _ total: Int) -> Void = { _, _ in }) throws(DesktopError) {
        let count = text.unicodeScalars.count
        guard count <= Self.maxTypedCharacters else {
            throw DesktopError(
                .untypable,
                "the text is \(count) characters long; at most \(Self.maxTypedCharacters) are typed at a time (about 15 s), so split it")
        }
        var keysyms: [Keys.KeySym] = []
        for scalar in text.unicodeScalars {
            guard let keysym = Keys.KeySym(character: scalar) else {
                throw DesktopError(
                    .untypable,
                    "cannot type control character U+\(String(scalar.value, radix: 16, uppercase: true)); use the key command for special keys")
            }
            keysyms.append(keysym)
        }
        guard !keysyms.isEmpty else { return }
        let capsLock = try queryPointer().modifiers.contains(.lock)
        try releasingOnFailure {
            // Missing characters are bound before the keystrokes that need them, as many at a time as
            // there are spare keycodes, so that no binding changes while a client may still be reading.
            var bound = keysyms.startIndex
            for (index, keysym) in keysyms.enumerated() {
                if index == bound { bound = try bindMissing(keysyms[index...]) }
                if index > 0 { pause(timing.keyGap) }
                let place = try placement(for: keysym)
                var shifted = place.shifted
                if capsLock && keysym.hasCase { shifted.toggle() }
                let shift = shifted ? keymap.shiftKeycode : nil
                if let shift { try fakeKey(shift, down: true) }
                try fakeKey(place.keycode, down: true)
                try fakeKey(place.keycode, down: false)
                if let shift { try fakeKey(shift, down: false) }
                progress(index + 1, keysyms.count)
            }
        }
    }

    /// Releases every key and button this controller holds, and gives back borrowed keycodes.
    /// Safe to call at any time; it never throws and ignores cancellation.
    public func releaseAll() {
        for keycode in heldKeys.reversed() { XTestFakeKeyEvent(display.raw, UInt32(keycode.rawValue), 0, 0) }
        for button in heldButtons.reversed() { XTestFakeButtonEvent(display.raw, button.rawValue, 0, 0) }
        heldKeys.removeAll()
        heldButtons.removeAll()
        XSync(display.raw, 0)
        restoreBorrowedKeys()
    }

    /// The events sent since the last call, oldest first (for session records).
    public func drainSentEvents() -> [SentInputEvent] {
        defer { sent.removeAll() }
        return sent
    }

    private func note(_ kind: SentInputEvent.Kind, _ detail: Int, _ point: Point? = nil) {
        let elapsed = ContinuousClock.now - start
        sent.append(SentInputEvent(kind: kind, detail: detail, point: point,
                                   milliseconds: elapsed.wholeMilliseconds))
    }

    /// The keys and buttons held right now (for tests and diagnostics).
    public var held: (keys: [KeyCode], buttons: [MouseButton]) { (heldKeys, heldButtons) }

    // MARK: Internals

    private func keysym(named name: String) throws(DesktopError) -> Keys.KeySym {
        guard let keysym = KeyNames.keysym(for: name) else {
            throw DesktopError(
                .untypable,
                "unknown key name '\(name)' (use names like ctrl, shift, alt, super, enter, esc, tab, space, "
                    + "backspace, delete, home, end, pageup, pagedown, up, down, left, right, f1–f24, a single "
                    + "character, or an X keysym name such as KP_Enter)")
        }
        return keysym
    }

    /// Where to press for `keysym`: in the keymap, or on the spare keycode ``bindMissing(_:)`` bound to it
    /// (whose keystroke, about to be sent, starts its `remapSettle` again).
    private func placement(for keysym: Keys.KeySym) throws(DesktopError) -> KeyPlacement {
        if let place = keymap.placement(of: keysym) { return place }
        guard let entry = borrowed.first(where: { $0.keysym == keysym }) else {
            throw DesktopError(.untypable, "cannot type \(keysym): it is not in the keymap and no keycode is bound to it")
        }
        lastBorrowedKeystroke = .now
        return KeyPlacement(keycode: entry.keycode, shifted: false)
    }

    /// Binds spare keycodes to the keysyms of `keysyms` that the keymap lacks, in order, and returns
    /// where the first one left unbound is (the end when none is). When every spare already holds a
    /// keysym typed earlier, the text stops there; only at its start are keycodes taken back, once
    /// clients had time to read their last keystrokes (`remapSettle`), those the text needs next last.
    private func bindMissing(_ keysyms: ArraySlice<Keys.KeySym>) throws(DesktopError) -> Int {
        var reusable: [KeyCode] = []
        for index in keysyms.indices {
            let keysym = keysyms[index]
            if keymap.placement(of: keysym) != nil { continue }
            if let entry = borrowed.first(where: { $0.keysym == keysym }) {
                reusable.removeAll { $0 == entry.keycode } // typed before the next rebinding: kept
                continue
            }
            let inUse = Set(borrowed.map(\.keycode))
            var keycode = keymap.spareKeycodes.first { !inUse.contains($0) }
            if keycode == nil && index == keysyms.startIndex && !borrowed.isEmpty {
                settleBorrowedKeys()
                let upcoming = Set(keysyms)
                reusable = borrowed.filter { !upcoming.contains($0.keysym) }.map(\.keycode)
                    + borrowed.filter { upcoming.contains($0.keysym) }.map(\.keycode)
            }
            if keycode == nil, !reusable.isEmpty {
                let taken = reusable.removeFirst()
                borrowed.removeAll { $0.keycode == taken }
                keycode = taken
            }
            guard let keycode else {
                if index > keysyms.startIndex { return index }
                throw DesktopError(.untypable, "cannot type \(keysym): it is not in the keymap and the keymap has no spare keycode to bind it to")
            }
            try bind(keycode, to: keysym)
            borrowed.append((keysym, keycode))
        }
        return keysyms.endIndex
    }

    /// Waits until `remapSettle` has passed since the last keystroke on a borrowed keycode.
    private func settleBorrowedKeys() {
        guard let last = lastBorrowedKeystroke else { return }
        let left = last + timing.remapSettle - .now
        if left > .zero { pause(left) }
    }

    /// Gives the borrowed keycodes back their empty mapping, once clients had time to read the keystrokes.
    private func restoreBorrowedKeys() {
        guard !borrowed.isEmpty else { return }
        settleBorrowedKeys()
        for entry in borrowed { try? bind(entry.keycode, to: nil) }
        borrowed.removeAll()
    }

    /// Corresponding Xlib call: `XChangeKeyboardMapping` (clients get `MappingNotify`).
    private func bind(_ keycode: KeyCode, to keysym: Keys.KeySym?) throws(DesktopError) {
        let width = keymap.keysymsPerKeycode
        var row = [UInt](repeating: keysym?.rawValue ?? UInt(NoSymbol), count: keysym == nil ? width : 2)
        let count = Int32(row.count)
        try display.checked("XChangeKeyboardMapping") {
            _ = XChangeKeyboardMapping(display.raw, Int32(keycode.rawValue), count, &row, 1)
        }
    }

    /// Runs an input operation; if it fails part-way, everything held is released before the error
    /// propagates. (Closures cannot carry a typed `throws` through inference, hence the cast.)
    private func releasingOnFailure(_ body: () throws -> Void) throws(DesktopError) {
        do {
            try body()
        } catch {
            releaseAll()
            throw error as? DesktopError ?? DesktopError(.protocolError, "\(error)")
        }
    }

    private func checkCancelled() throws(DesktopError) {
        if isCancelled() { throw DesktopError(.cancelled, "input cancelled; every pressed key and button was released") }
    }

    private func checkInside(_ point: Point) throws(DesktopError) {
        let screen = try display.screenBounds()
        guard screen.contains(point) else {
            throw DesktopError(.invalidArgument, "point \(point) is outside the \(screen.size) screen of display \(display.name)")
        }
    }

    private func fakeMotion(_ point: Point) throws(DesktopError) {
        try checkCancelled()
        try display.checked("XTestFakeMotionEvent") {
            _ = XTestFakeMotionEvent(display.raw, display.screen, Int32(point.x), Int32(point.y), 0)
        }
        note(.motion, 0, point)
    }

    /// Corresponding Xlib call: `XTestFakeButtonEvent`; the held set is updated first so a failure
    /// still leads to a release.
    private func fakeButton(_ button: MouseButton, down: Bool) throws(DesktopError) {
        if down {
            try checkCancelled()
            heldButtons.append(button)
        } else {
            heldButtons.removeAll { $0 == button }
        }
        try display.checked("XTestFakeButtonEvent") {
            _ = XTestFakeButtonEvent(display.raw, button.rawValue, down ? 1 : 0, 0)
        }
        note(down ? .buttonDown : .buttonUp, Int(button.rawValue))
    }

    /// Corresponding Xlib call: `XTestFakeKeyEvent`.
    private func fakeKey(_ keycode: KeyCode, down: Bool) throws(DesktopError) {
        if down {
            try checkCancelled()
            heldKeys.append(keycode)
        } else {
            heldKeys.removeAll { $0 == keycode }
        }
        try display.checked("XTestFakeKeyEvent") {
            _ = XTestFakeKeyEvent(display.raw, UInt32(keycode.rawValue), down ? 1 : 0, 0)
        }
        note(down ? .keyDown : .keyUp, Int(keycode.rawValue))
    }

    private func queryPointer() throws(DesktopError) -> (position: Point, modifiers: CX11ModifierMask) {
        var rootReturn: UInt = 0, child: UInt = 0
        var rootX: Int32 = 0, rootY: Int32 = 0, windowX: Int32 = 0, windowY: Int32 = 0
        var mask: UInt32 = 0
        _ = try display.checked("XQueryPointer") {
            XQueryPointer(display.raw, display.root, &rootReturn, &child, &rootX, &rootY, &windowX, &windowY, &mask)
        }
        return (Point(x: Int(rootX), y: Int(rootY)), CX11ModifierMask(rawValue: mask))
    }

    private func pause(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

extension Keys.KeySym {
    /// Whether the symbol has distinct lower and upper case (so Caps Lock changes it).
    /// Corresponding Xlib call: `XConvertCase`.
    public var hasCase: Bool {
        let cases = Xlib.cases(of: rawValue)
        return cases.lower != cases.upper
    }
}
