import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("Input into real third-party X programs")
struct ThirdPartyAppTests {
    @Test func typingIntoXtermWritesTheExactBytes() throws {
        let xterm = try #require(VirtualDisplay.findExecutable("xterm"), "xterm is needed (apt-get install xterm)")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("xterm-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: output) }
        try withVirtualDisplay { virtual in
            let terminal = try virtual.launch(
                xterm, arguments: ["-geometry", "80x24+0+0", "-e", "sh", "-c", "cat > '\(output.path)'"],
                environment: ["LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"])
            let display = try Display(name: virtual.name, logger: testLogger)
            let capturer = ScreenCapturer(display: display)
            // Ready when the shell has created the file and xterm's white window is on screen.
            try waitUntil("xterm is up") {
                guard FileManager.default.fileExists(atPath: output.path) else { return false }
                return try capturer.capture()[Point(x: 5, y: 5)] != RGB(hex: 0)
            }
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

