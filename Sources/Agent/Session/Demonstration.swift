public import AgentCore
import Keys
public import Desktop
public import Imaging

/// Groups a person's raw input into the steps an agent would have taken: a click (double and triple
/// when the presses come within 400 ms and 4 px), a drag, a wheel turn, a typed string, a key or chord.
/// Fed event by event; a step closes when what follows cannot belong to it, or after a pause.
public struct DemonstrationGrouper {
    public struct Step: Sendable {
        public let action: Action
        /// Where it acts on the screen (a drag's end).
        public let point: Point?
        /// A drag's start.
        public let startPoint: Point?
    }

    /// Multi-click window (GTK's and Qt's double-click time).
    static let multiClickTime: UInt32 = 400
    static let multiClickDistance = 4
    /// A typed string or a wheel turn ends after this long without a key or a wheel click.
    static let idleTime: UInt32 = 1000

    private var heldButton: (button: UInt8, at: Point, time: UInt32)?
    private var click: (button: UInt8, at: Point, time: UInt32, count: Int)?
    private var wheel: (button: UInt8, at: Point, time: UInt32, count: Int)?
    private var text: (value: String, time: UInt32)?
    private var closed: [Step] = []
    /// Set when the stop chord (ctrl+alt+Escape) is pressed.
    public private(set) var stopRequested = false

    public init() {}

    /// Takes one event; returns the steps it closed.
    public mutating func add(_ event: RawInputEvent) -> [Step] {
        switch event.kind {
        case .motion:
            break
        case .buttonPress where (4...7).contains(event.detail):
            if let wheel, wheel.button != event.detail { closeWheel() }
            closeText()
            closeClick()
            if let current = wheel { self.wheel = (current.button, current.at, event.time, current.count + 1) }
            else { wheel = (event.detail, event.root, event.time, 1) }
        case .buttonPress:
            closeText()
            closeWheel()
            if let click, click.button != event.detail || distance(click.at, event.root) > Self.multiClickDistance
                || event.time &- click.time > Self.multiClickTime { closeClick() }
            heldButton = (event.detail, event.root, event.time)
        case .buttonRelease where (4...7).contains(event.detail):
            break
        case .buttonRelease:
            guard let held = heldButton, held.button == event.detail else { break }
            heldButton = nil
            if distance(held.at, event.root) > Self.multiClickDistance {
                closeClick()
                if held.button == 1 { emit(Action(.leftClickDrag), at: event.root, from: held.at) }
            } else if let current = click {
                click = (current.button, current.at, event.time, current.count + 1)
            } else {
                click = (held.button, held.at, event.time, 1)
            }
        case .keyPress:
            key(event)
        case .keyRelease:
            break
        }
        return flush()
    }

    /// Closes what a pause of `now - last event` has ended; call it while idle.
    public mutating func tick(now: UInt32) -> [Step] {
        if let click, now &- click.time > Self.multiClickTime, heldButton == nil { closeClick() }
        if let wheel, now &- wheel.time > Self.multiClickTime { closeWheel() }
        if let text, now &- text.time > Self.idleTime { closeText() }
        return flush()
    }

    /// Closes everything still open (the recording ended).
    public mutating func finish() -> [Step] {
        closeClick()
        closeWheel()
        closeText()
        return flush()
    }

    // MARK: Internals

    private mutating func key(_ event: RawInputEvent) {
        guard let plain = event.keysyms.plain else { return }
        if Modifier.isModifierKey(plain) { return }
        let name = KeyNames.name(for: plain)
        if name == "esc" && event.controlHeld && event.altHeld {
            stopRequested = true
            return
        }
        closeClick()
        closeWheel()
        let modifiers = [(event.controlHeld, Modifier.ctrl), (event.altHeld, .alt), (event.superHeld, .super)].filter(\.0).map(\.1.rawValue)
        let shifted = event.shiftHeld != (event.capsLock && plain.hasCase)
        let symbol = shifted ? (event.keysyms.shifted ?? plain) : plain
        if modifiers.isEmpty, let character = symbol.character, character.value >= 0x20 {
            let value = (text?.value ?? "") + String(Character(character))
            text = (value, event.time)
            return
        }
        closeText()
        let keys = modifiers + (event.shiftHeld && !modifiers.isEmpty ? [Modifier.shift.rawValue] : []) + [name]
        emit(Action(.key, keys: keys), at: nil, from: nil)
    }

    private mutating func closeClick() {
        guard let current = click else { return }
        click = nil
        let name: ActionName = switch (current.button, min(current.count, 3)) {
        case (1, 2): .doubleClick
        case (1, 3): .tripleClick
        case (2, _): .middleClick
        case (3, _): .rightClick
        default: .leftClick
        }
        emit(Action(name), at: current.at, from: nil)
    }

    private mutating func closeWheel() {
        guard let current = wheel else { return }
        wheel = nil
        let (name, sign): (ActionName, Int) = switch current.button {
        case 4: (.scroll, 1)
        case 5: (.scroll, -1)
        case 6: (.hscroll, -1)
        default: (.hscroll, 1)
        }
        emit(Action(name, amount: sign * min(current.count, ActionTable.maximumScrollClicks)), at: current.at, from: nil)
    }

    private mutating func closeText() {
        guard let current = text else { return }
        text = nil
        emit(Action(.type, text: current.value), at: nil, from: nil)
    }

    private mutating func emit(_ action: Action, at point: Point?, from start: Point?) {
        closed.append(Step(action: action, point: point, startPoint: start))
    }

    private mutating func flush() -> [Step] {
        defer { closed.removeAll() }
        return closed
    }

    private func distance(_ a: Point, _ b: Point) -> Int { max(abs(a.x - b.x), abs(a.y - b.y)) }
}
