import CX11
@testable import Desktop
import Keys
import Foundation
import Imaging
import Synchronization
import TestSupport
import Testing

/// A display, the fixture app on it, and an input controller: what every input test starts from.
struct InputBench {
    let app: FixtureApp
    let display: Display
    let input: InputController
}

/// Runs `body` with a fresh bench. The X connection closes before Xvfb stops, which a connection
/// that outlived its server would report as a lost display.
func withInputBench(isCancelled: @escaping @Sendable () -> Bool = { false }, _ body: (InputBench) throws -> Void) throws {
    try withVirtualDisplay { virtual in
        let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
        let display = try Display(name: virtual.name, logger: testLogger)
        let input = try InputController(display: display, isCancelled: isCancelled)
        // The fixture takes focus once mapped; wait for it so keys reach it.
        try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
        try body(InputBench(app: app, display: display, input: input))
    }
}

@Suite("XTest pointer input arrives where it was aimed")
struct PointerInputTests {
    @Test(arguments: [(MouseButton.left, 1), (.middle, 2), (.right, 3)])
    func clickArrivesAtTheExactPoint(button: MouseButton, number: Int) throws {
        try withInputBench { bench in
            let target = Point(x: 100 + 333, y: 80 + 207)
            try bench.input.click(button, at: target)
            let events = try bench.app.waitForEvents { $0.contains { $0.event == "button_release" } }
            let press = try #require(events.first { $0.event == "button_press" })
            #expect(press.button == number)
            #expect(Point(x: press.rootX!, y: press.rootY!) == target)
            #expect(Point(x: press.x!, y: press.y!) == Point(x: 333, y: 207))
            #expect(events.filter { $0.event == "button_press" }.count == 1)
            #expect(bench.input.held.buttons.isEmpty)
        }
    }

    @Test(arguments: [2, 3])
    func multiClicksAreFastEnoughForToolkits(count: Int) throws {
        try withInputBench { bench in
            let ok = bench.app.widget("ok").rect
            try bench.input.click(.left, at: ok.center, count: count)
            // The app logs "clicked" just after each release: wait for both, so the last one is not read half-way.
            let events = try bench.app.waitForEvents { log in
                log.filter { $0.event == "button_release" }.count == count && log.filter { $0.event == "clicked" }.count == count
            }
            let presses = events.filter { $0.event == "button_press" }
            #expect(presses.count == count)
            #expect(presses.allSatisfy { $0.rootX == ok.center.x && $0.rootY == ok.center.y })
            // GTK's and Qt's multi-click time is 400 ms (Xt's 200); the controller aims at 80 + 12 ms.
            let gaps = zip(presses.dropFirst(), presses).map { $0.time! - $1.time! }
            #expect(gaps.allSatisfy { $0 >= 80 && $0 < 400 }, "press gaps \(gaps) ms")
            #expect(events.filter { $0.event == "clicked" && $0.widget == "ok" }.count == count)
        }
    }

    @Test func dragSendsIntermediateMotionWithTheButtonHeld() throws {
        try withInputBench { bench in
            let start = Point(x: 150, y: 250), end = Point(x: 600, y: 330)
            try bench.input.drag(from: start, to: end)
            let events = try bench.app.waitForEvents { $0.contains { $0.event == "button_release" } }
            let press = try #require(events.firstIndex { $0.event == "button_press" })
            let release = try #require(events.firstIndex { $0.event == "button_release" })
            #expect(Point(x: events[press].rootX!, y: events[press].rootY!) == start)
            #expect(Point(x: events[release].rootX!, y: events[release].rootY!) == end)
            let moves = events[press..<release].filter { $0.event == "motion" }
            #expect(moves.count >= 8)
            #expect(moves.allSatisfy { ($0.state! & UInt(CX11ModifierMask.button1.rawValue)) != 0 }, "button 1 held while moving")
            let xs = moves.map { $0.rootX! }
            #expect(xs == xs.sorted() && xs.first! > start.x && xs.last! == end.x, "monotonic path \(xs)")
        }
    }

    @Test(arguments: [(ScrollDirection.up, 4), (.down, 5), (.left, 6), (.right, 7)])
    func scrollTurnsTheWheelStepByStep(direction: ScrollDirection, button: Int) throws {
        try withInputBench { bench in
            try bench.input.scroll(direction, steps: 3, at: Point(x: 400, y: 300))
            let events = try bench.app.waitForEvents { $0.filter { $0.event == "button_release" }.count == 3 }
            let presses = events.filter { $0.event == "button_press" }
            #expect(presses.map(\.button) == [button, button, button])
            #expect(presses.allSatisfy { $0.rootX == 400 && $0.rootY == 300 })
        }
    }

    @Test func buttonDownStaysDownUntilUp() throws {
        try withInputBench { bench in
            try bench.input.press(.left, at: Point(x: 200, y: 200))
            try bench.input.move(to: Point(x: 260, y: 240))
            #expect(bench.input.held.buttons == [.left])
            try bench.input.release(.left)
            let events = try bench.app.waitForEvents { $0.contains { $0.event == "button_release" } }
            let release = try #require(events.first { $0.event == "button_release" })
            #expect(release.rootX == 260 && release.rootY == 240)
            #expect(bench.input.held.buttons.isEmpty)
        }
    }

    @Test func pointOffScreenIsRejectedNotClamped() throws {
        try withInputBench { bench in
            let error = #expect(throws: DesktopError.self) { try bench.input.click(at: Point(x: 1280, y: 10)) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("1280x800") == true)
            usleep(100_000)
            #expect(!bench.app.events().contains { $0.event == "button_press" })
        }
    }
}

@Suite("XTest keyboard input arrives exactly")
struct KeyboardInputTests {
    @Test func chordArrivesWithItsModifiers() throws {
        try withInputBench { bench in
            try bench.input.press(KeyChord(parsing: "ctrl+shift+t"))
            let events = try bench.app.waitForEvents { $0.filter { $0.event == "key_release" }.count == 3 }
            let t = try #require(events.first { $0.event == "key_press" && $0.keysymName?.lowercased() == "t" })
            let mask = CX11ModifierMask(rawValue: UInt32(t.state!))
            #expect(mask.contains(.control) && mask.contains(.shift))
            let presses = events.filter { $0.event == "key_press" }.map(\.keysymName)
            #expect(presses == ["Control_L", "Shift_L", "T"])
            let pressed = events.filter { $0.event == "key_press" }.map { $0.keycode }
            let released = events.filter { $0.event == "key_release" }.map { $0.keycode }
            #expect(released == pressed.reversed())
        }
    }

    @Test(arguments: [("enter", "Return"), ("esc", "Escape"), ("pagedown", "Next"), ("F5", "F5"), ("super", "Super_L"),
                      ("backspace", "BackSpace"), ("KP_Enter", "KP_Enter"), ("/", "slash")])
    func namedKeysResolve(name: String, keysym: String) throws {
        try withInputBench { bench in
            try bench.input.press(KeyChord(keys: [name]))
            let events = try bench.app.waitForEvents { $0.contains { $0.event == "key_release" } }
            #expect(events.first { $0.event == "key_press" }?.keysymName == keysym)
        }
    }

    @Test func shiftedCharacterGetsShiftAdded() throws {
        try withInputBench { bench in
            try bench.input.press(KeyChord(parsing: "ctrl+?"))
            let events = try bench.app.waitForEvents { $0.filter { $0.event == "key_release" }.count == 3 }
            let question = try #require(events.first { $0.event == "key_press" && $0.keysymName == "question" })
            #expect(CX11ModifierMask(rawValue: UInt32(question.state!)).isSuperset(of: [.control, .shift]))
        }
    }

    @Test func unknownKeyNameIsAClearErrorAndPressesNothing() throws {
        try withInputBench { bench in
            let error = #expect(throws: DesktopError.self) { try bench.input.press(KeyChord(parsing: "ctrl+nosuchkey")) }
            #expect(error?.code == .untypable)
            #expect(error?.message.contains("'nosuchkey'") == true)
            usleep(100_000)
            #expect(!bench.app.events().contains { $0.event == "key_press" })
        }
    }

    @Test func unicodeTextArrivesExactlyAndReleaseGivesBorrowedKeysBack() throws {
        try withInputBench { bench in
            let before = try keyboardMapping(bench.display)
            let text = "héllo wörld ß 世界 🙂"
            try bench.input.type(text)
            try bench.app.waitForEvents { _ in bench.app.fieldValue() == text }
            let typed = bench.app.events().filter { $0.event == "key_press" }.compactMap(\.text).joined()
            #expect(typed == text)
            #expect(try keyboardMapping(bench.display) != before, "the borrowed keycodes stay bound for the next time")
            bench.input.releaseAll()
            #expect(try keyboardMapping(bench.display) == before, "released, the spare keycodes are empty again")
            #expect(bench.input.held.keys.isEmpty)
        }
    }

    /// Xlib looks a keystroke up in the keymap as the server has it when the client reads the event:
    /// a client that reads late (a busy machine) must still find every borrowed keycode bound as typed.
    @Test func aClientThatReadsLateStillGetsEveryCharacter() throws {
        try withInputBench { bench in
            let text = "Grüße 世界"
            bench.app.process.signal(SIGSTOP)
            try bench.input.type(text)
            usleep(600_000) // twice remapSettle: the keystrokes wait in the client's queue
            bench.app.process.signal(SIGCONT)
            try bench.app.waitForEvents { _ in bench.app.fieldValue() == text }
            #expect(bench.app.fieldValue() == text)
        }
    }

    @Test func manyDistinctMissingCharactersReuseSpareKeycodes() throws {
        try withInputBench { bench in
            // More distinct characters than Xvfb's keymap has spare keycodes (about 18).
            let text = "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ"
            try bench.input.type(text)
            try bench.app.waitForEvents(timeout: 20) { _ in bench.app.fieldValue() == text }
            #expect(bench.app.fieldValue() == text)
        }
    }

    @Test func capsLockIsAccountedFor() throws {
        try withInputBench { bench in
            try bench.input.press(KeyChord(keys: ["capslock"]))
            try bench.input.type("aB")
            try bench.input.press(KeyChord(keys: ["capslock"]))
            try bench.app.waitForEvents { _ in bench.app.fieldValue() == "aB" }
        }
    }

    @Test func cancellationMidChordReleasesEverythingPressed() throws {
        let checks = Atomic<Int>(0)
        // Cancelled at the third key press: ctrl and shift are down by then.
        try withInputBench(isCancelled: { checks.add(1, ordering: .relaxed).newValue > 2 }) { bench in
            let error = #expect(throws: DesktopError.self) { try bench.input.press(KeyChord(parsing: "ctrl+shift+t")) }
            #expect(error?.code == .cancelled)
            #expect(bench.input.held.keys.isEmpty && bench.input.held.buttons.isEmpty)
            // The server agrees: no key is down.
            var keys = [CChar](repeating: 0, count: 32)
            XQueryKeymap(bench.display.raw, &keys)
            #expect(keys.allSatisfy { $0 == 0 })
            let events = try bench.app.waitForEvents { $0.filter { $0.event == "key_release" }.count == 2 }
            #expect(events.filter { $0.event == "key_press" }.map(\.keysymName) == ["Control_L", "Shift_L"])
            let pressedCodes = events.filter { $0.event == "key_press" }.compactMap { $0.keycode }.sorted()
            #expect(events.filter { $0.event == "key_release" }.compactMap { $0.keycode }.sorted() == pressedCodes)
        }
    }

    /// The core keyboard mapping, row by row. Corresponding Xlib call: `XGetKeyboardMapping`.
    private func keyboardMapping(_ display: Display) throws -> [[UInt]] {
        var low: Int32 = 0, high: Int32 = 0, per: Int32 = 0
        XDisplayKeycodes(display.raw, &low, &high)
        let map = try #require(XGetKeyboardMapping(display.raw, UInt8(low), high - low + 1, &per))
        defer { XFree(map) }
        return (0..<Int(high - low + 1)).map { code in (0..<Int(per)).map { map[code * Int(per) + $0] } }
    }
}
