@testable import Desktop
import Foundation
import Keys
import TestSupport
import Testing

/// `serve` and `mcp` grab the abort chord for each run in one process: the grab must be gone the
/// moment a run's hotkey is, or the next run could not take it.
@Suite("The abort hotkey")
struct AbortHotkeyTests {
    @Test func aReleasedChordCanBeGrabbedAgainAtOnceAndAHeldOneCannot() throws {
        try withVirtualDisplay { virtual in
            let display = try Display(name: virtual.name, logger: testLogger)
            let input = try InputController(display: display)
            for run in 1...5 {
                let hotkey = try AbortHotkey(chord: "ctrl+alt+Escape", display: virtual.name)
                #expect(!hotkey.isPressed)
                // While it is held, no other client can take the chord.
                let error = #expect(throws: DesktopError.self) { try AbortHotkey(chord: "ctrl+alt+Escape", display: virtual.name) }
                #expect(error?.message.contains("another program holds it") == true, "run \(run): \(error?.message ?? "")")
                try input.press(KeyChord(parsing: "ctrl+alt+Escape"))
                try waitUntil("run \(run): the press reaches the grab") { hotkey.isPressed }
            }
        }
    }
}
