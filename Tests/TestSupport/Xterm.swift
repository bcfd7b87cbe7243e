public import Desktop
public import Foundation
import Imaging

/// xterm running `cat > output` on `display`, ready for typing: what arrives in the file is exactly
/// what a real terminal program read from the keyboard.
public func launchCatInXterm(on display: VirtualDisplay, writingTo output: URL) throws -> ChildProcess {
    guard let xterm = VirtualDisplay.findExecutable("xterm") else { throw FixtureTimeout(log: "xterm is needed (apt-get install xterm)") }
    let terminal = try display.launch(xterm, arguments: ["-geometry", "80x24+0+0", "-e", "sh", "-c", "cat > '\(output.path)'"],
                                      environment: ["LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"])
    let capturer = ScreenCapturer(display: try Display(name: display.name, logger: testLogger))
    // Ready when the shell has created the file and xterm's white window is on screen.
    try waitUntil("xterm is up") {
        guard FileManager.default.fileExists(atPath: output.path) else { return false }
        return try capturer.capture()[Point(x: 5, y: 5)] != RGB(hex: 0)
    }
    return terminal
}
