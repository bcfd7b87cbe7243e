import Desktop
import Keys
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("Input into real third-party X programs")
struct ThirdPartyAppTests {
    @Test func typingIntoXtermWritesTheExactBytes() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("xterm-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: output) }
        try withVirtualDisplay { virtual in
            let terminal = try launchCatInXterm(on: virtual, writingTo: output)
            let display = try Display(name: virtual.name, logger: testLogger)
            let input = try InputController(display: display)
            // No window manager: the focus follows the pointer (PointerRoot), so put it over xterm.
            try input.move(to: Point(x: 100, y: 100))
            let text = "hello wörld ß 世界 🙂 $HOME 'quotes' \"double\"\n"
            try input.type(text)
            try input.press(KeyChord(parsing: "ctrl+d"))
            #expect(terminal.wait(timeout: 15) == 0, "xterm exits when cat reaches end of input")
            #expect(try Data(contentsOf: output) == Data(text.utf8))
        }
    }
}

