import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("Screen capture against the fixture app on Xvfb")
struct CaptureTests {
    static let swatches: [(name: String, color: RGB)] = [
        ("red", RGB(hex: 0xFF0000)), ("green", RGB(hex: 0x00FF00)), ("blue", RGB(hex: 0x0000FF)), ("navy", RGB(hex: 0x123456)),
    ]

    @Test(arguments: ScreenCapturer.Method.allCases)
    func capturesTheExactColoursAtTheExactPlaces(method: ScreenCapturer.Method) throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 137, y: 91))
            let display = try Display(name: virtual.name, logger: testLogger)
            let capturer = ScreenCapturer(display: display, method: method)
            let screen = try capturer.capture()
            #expect(capturer.method == method)
            #expect(screen.size == Size(width: 1280, height: 800))
            for (name, color) in Self.swatches {
                let rect = app.widget(name).rect
                #expect(screen[rect.center] == color, "\(name) centre")
                // Edges are exact too: the first and last pixel inside, and the background just outside.
                #expect(screen[rect.origin] == color)
                #expect(screen[Point(x: rect.maxX - 1, y: rect.maxY - 1)] == color)
                #expect(screen[Point(x: rect.maxX, y: rect.maxY)] == RGB(hex: 0xFFFFFF))
            }
            // Outside the window the Xvfb root is black.
            #expect(screen[Point(x: 5, y: 5)] == RGB(hex: 0x000000))
        }
    }

    @Test func sharedMemoryAndGetImageAgreeAndRegionsMatchCrops() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual)
            defer { withExtendedLifetime(app) {} }  // on the screen for the whole test
            let display = try Display(name: virtual.name, logger: testLogger)
            let shm = ScreenCapturer(display: display, method: .sharedMemory)
            let plain = ScreenCapturer(display: display, method: .getImage)
            let full = try shm.capture()
            #expect(full == (try plain.capture()))
            let region = Rect(x: 101, y: 83, width: 333, height: 77)
            #expect(try shm.capture(region) == full.cropped(to: region))
            #expect(try plain.capture(region) == full.cropped(to: region))
            // The reused segment still serves a full-screen capture after a small one.
            #expect(try shm.capture() == full)
            #expect(shm.method == .sharedMemory)
        }
    }

    @Test func regionOutsideTheScreenIsAnError() throws {
        try withVirtualDisplay(size: Size(width: 640, height: 480)) { virtual in
            let display = try Display(name: virtual.name, logger: testLogger)
            let capturer = ScreenCapturer(display: display)
            let error = #expect(throws: DesktopError.self) { try capturer.capture(Rect(x: 600, y: 0, width: 100, height: 10)) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("640x480") == true)
        }
    }

    @Test func monitorCaptureIsOffsetByTheMonitorOrigin() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 700, y: 120))
            let xrandr = try #require(VirtualDisplay.findExecutable("xrandr"))
            let setMonitor = try virtual.launch(xrandr, arguments: ["--setmonitor", "RIGHT", "640/170x800/210+640+0", "none"])
            #expect(setMonitor.wait(timeout: 10) == 0)
            let display = try Display(name: virtual.name, logger: testLogger)
            let monitor = try display.monitor(named: "RIGHT")
            let image = try ScreenCapturer(display: display).capture(monitor)
            #expect(image.size == Size(width: 640, height: 800))
            for (name, color) in Self.swatches {
                let center = app.widget(name).rect.center
                #expect(image[Point(x: center.x - 640, y: center.y)] == color, "\(name) in monitor coordinates")
            }
        }
    }

    @Test func sixteenBitVisualConvertsToFullRangeColours() throws {
        try withVirtualDisplay(depth: 16) { virtual in
            let app = try FixtureApp(on: virtual)
            let display = try Display(name: virtual.name, logger: testLogger)
            for method in ScreenCapturer.Method.allCases {
                let screen = try ScreenCapturer(display: display, method: method).capture()
                #expect(screen[app.widget("red").rect.center] == RGB(hex: 0xFF0000))
                #expect(screen[app.widget("green").rect.center] == RGB(hex: 0x00FF00))
                #expect(screen[app.widget("blue").rect.center] == RGB(hex: 0x0000FF))
                // #123456 in RGB565 is (2, 13, 10); scaled back to 8 bits that is (16, 53, 82).
                #expect(screen[app.widget("navy").rect.center] == RGB(hex: 0x103552))
            }
        }
    }
}
