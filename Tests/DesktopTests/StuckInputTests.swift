@testable import Desktop
import Foundation
import Imaging
import Keys
import Synchronization
import TestSupport
import TestSupportCore
import Testing

@Suite("An abort at any moment leaves no key or button held")
struct StuckInputTests {
    /// Drags, chords and typing (keymap and borrowed keycodes), each cancelled at a seeded random
    /// check of the cancel flag (some finish first). After each, the X server itself reports no key
    /// down (`XQueryKeymap`) and no button down (`XQueryPointer`). `QWEN_AGENT_ABORT_POINTS` sets the
    /// count; scripts/soak runs 200.
    @Test func randomAbortPointsLeaveNothingPressed() throws {
        let count = ProcessInfo.processInfo.environment["QWEN_AGENT_ABORT_POINTS"].flatMap { Int($0) } ?? 24
        var generator = SeededGenerator()
        let checks = Atomic<Int>(0)
        let abortAt = Atomic<Int>(.max)
        var aborted = 0
        try withInputBench(isCancelled: { checks.add(1, ordering: .relaxed).newValue >= abortAt.load(ordering: .relaxed) }) { bench in
            bench.input.timing.remapSettle = .milliseconds(5)
            for round in 0..<count {
                checks.store(0, ordering: .relaxed)
                abortAt.store(Int.random(in: 1...16, using: &generator), ordering: .relaxed)
                let operation = Int.random(in: 0..<3, using: &generator)
                do {
                    switch operation {
                    case 0:
                        let start = Point(x: Int.random(in: 110...700, using: &generator), y: Int.random(in: 90...500, using: &generator))
                        let end = Point(x: Int.random(in: 110...700, using: &generator), y: Int.random(in: 90...500, using: &generator))
                        try bench.input.drag(from: start, to: end, button: [MouseButton.left, .middle, .right].randomElement(using: &generator)!)
                    case 1:
                        let chord = ["ctrl+shift+t", "ctrl+alt+shift+F5", "shift+A", "super+ctrl+?", "alt+tab"].randomElement(using: &generator)!
                        try bench.input.press(KeyChord(parsing: chord))
                    default:
                        try bench.input.type(["Hello, World!", "AbC dEf 123", "é世🙂ÅŒ", "tab\tand\nreturn"].randomElement(using: &generator)!)
                    }
                } catch let error as DesktopError where error.code == .cancelled {
                    aborted += 1
                }
                let context = "round \(round), operation \(operation), abort at check \(abortAt.load(ordering: .relaxed)); \(generator)"
                #expect(bench.input.held.keys.isEmpty && bench.input.held.buttons.isEmpty, "\(context)")
                #expect(HeldInput.keys(bench.display).isEmpty, "keys down on the server: \(HeldInput.keys(bench.display)); \(context)")
                #expect(HeldInput.buttons(bench.display) == 0, "a button is down on the server; \(context)")
            }
        }
        print("abort points: \(count), aborted mid-operation: \(aborted); \(generator)")
        #expect(aborted >= count / 4, "a fair share of rounds are aborted mid-operation (\(aborted) of \(count))")
    }
}
