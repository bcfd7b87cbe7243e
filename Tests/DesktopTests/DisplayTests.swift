import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("Display connection and monitors")
struct DisplayTests {
    @Test func missingDisplayVariableSaysWhatToDo() {
        let error = #expect(throws: DesktopError.self) { try Display(environment: [:], logger: testLogger) }
        #expect(error?.code == .noDisplay)
        #expect(error?.message.contains("$DISPLAY is not set") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func waylandWithoutXWaylandIsNamed() {
        let error = #expect(throws: DesktopError.self) {
            try Display(environment: ["WAYLAND_DISPLAY": "wayland-0"], logger: testLogger)
        }
        #expect(error?.code == .noDisplay)
        #expect(error?.message.contains("Wayland session") == true)
    }

    @Test func refusedConnectionIsAnErrorNotACrash() {
        let error = #expect(throws: DesktopError.self) { try Display(name: ":917", logger: testLogger) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("':917'") == true)
    }

    @Test func virtualDisplayIsPrivateAndSized() throws {
        try withVirtualDisplay(size: Size(width: 800, height: 600)) { virtual in
            let display = try Display(name: virtual.name, logger: testLogger)
            #expect(try display.screenSize() == Size(width: 800, height: 600))
            #expect(display.hasExtension("XTEST"))
            #expect(display.hasExtension("MIT-SHM"))
            #expect(virtual.name != ProcessInfo.processInfo.environment["DISPLAY"])
        }
    }

    @Test func monitorsFollowXrandrSetmonitor() throws {
        try withVirtualDisplay(size: Size(width: 1280, height: 800)) { virtual in
            let display = try Display(name: virtual.name, logger: testLogger)
            #expect(try display.monitors().map(\.bounds) == [Rect(x: 0, y: 0, width: 1280, height: 800)])

            let xrandr = try #require(VirtualDisplay.findExecutable("xrandr"), "xrandr is needed (apt-get install x11-xserver-utils)")
            for (name, geometry) in [("LEFT", "500/130x800/200+0+0"), ("RIGHT", "780/200x800/200+500+0")] {
                let process = try virtual.launch(xrandr, arguments: ["--setmonitor", name, geometry, "none"])
                #expect(process.wait(timeout: 10) == 0)
            }
            let monitors = try display.monitors()
            let right = try display.monitor(named: "RIGHT")
            #expect(right.bounds == Rect(x: 500, y: 0, width: 780, height: 800))
            #expect(try display.monitor(named: "LEFT").bounds == Rect(x: 0, y: 0, width: 500, height: 800))
            #expect(monitors.count == 3)
            let error = #expect(throws: DesktopError.self) { try display.monitor(named: "NOPE") }
            #expect(error?.message.contains("RIGHT") == true)
        }
    }
}
