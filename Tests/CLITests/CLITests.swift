import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

/// What one run of the `qwen-agent` binary did.
struct CLIRun {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the built `qwen-agent` with `arguments`; `DISPLAY` is `display` (unset when nil); standard
/// input is `stdin`'s bytes (empty when nil).
func qwenAgent(_ arguments: [String], display: String?, environment extra: [String: String] = [:], stdin: Data? = nil) throws -> CLIRun {
    var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
    environment["DISPLAY"] = display
    if display == nil { environment["WAYLAND_DISPLAY"] = nil }
    // Prompt files of its own (the embedded engine's), so no run starts from another test's.
    let cache = FileManager.default.temporaryDirectory.appendingPathComponent("cli-cache-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: cache) }
    if extra["XDG_CACHE_HOME"] == nil { environment["XDG_CACHE_HOME"] = cache.path }
    return try runProgram(TestProducts.url(of: "qwen-agent"), arguments, environment: environment, stdin: stdin)
}

/// Runs `program` with `arguments` and `environment`, in `directory` when given, and waits up to a
/// minute for it; standard input is `stdin`'s bytes (empty when nil).
func runProgram(_ program: URL, _ arguments: [String], environment: [String: String], directory: URL? = nil,
                stdin: Data? = nil) throws -> CLIRun {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
    let input = folder.appendingPathComponent("in")
    try (stdin ?? Data()).write(to: input)
    let outFD = open(out.path, O_WRONLY | O_CREAT, 0o600), errFD = open(err.path, O_WRONLY | O_CREAT, 0o600)
    let inFD = open(input.path, O_RDONLY)
    let child = try ChildProcess(program, arguments: arguments, environment: environment, directory: directory,
                                 stdin: .descriptor(inFD), stdout: .descriptor(outFD), stderr: .descriptor(errFD))
    close(inFD)
    close(outFD)
    close(errFD)
    let status = try #require(child.wait(timeout: 60), "\(program.lastPathComponent) \(arguments) did not finish")
    return CLIRun(status: status, stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
}

@Suite("qwen-agent command line, run as a user would")
struct CLITests {
    @Test func helpListsEveryCommandAndItsOptions() throws {
        let top = try qwenAgent(["--help"], display: nil)
        #expect(top.status == 0)
        for command in ["demo", "parse", "schema", "monitors", "capture", "click", "move", "drag", "scroll", "key", "type"] {
            #expect(top.stdout.contains("  \(command) "), "\(command) in the overview")
        }
        #expect(top.stdout.contains("Exit statuses"))
        let capture = try qwenAgent(["capture", "--help"], display: nil)
        for option in ["--output", "--monitor", "--region", "--method", "--display"] { #expect(capture.stdout.contains(option)) }
        let key = try qwenAgent(["key", "--help"], display: nil)
        #expect(key.stdout.contains("pagedown") && key.stdout.contains("Super_L"))
    }

    @Test func missingDisplayIsOneClearLineAndStatus69() throws {
        let run = try qwenAgent(["capture", "-o", "/tmp/never.png"], display: nil)
        #expect(run.status == 69)
        #expect(run.stderr == "qwen-agent: no X display: $DISPLAY is not set; pass --display NAME, or start a virtual one (Xvfb :99 -screen 0 1920x1080x24 & export DISPLAY=:99)\n")
        let refused = try qwenAgent(["click", "1", "1", "--display", ":931"], display: nil)
        #expect(refused.status == 69)
        #expect(refused.stderr.hasPrefix("qwen-agent: cannot connect to X display ':931'"))
    }

    @Test func badArgumentsAreUsageErrors() throws {
        #expect(try qwenAgent(["click", "10"], display: nil).status == 64)
        #expect(try qwenAgent(["click", "1", "2", "--button", "thumb"], display: nil).status == 64)
        #expect(try qwenAgent(["capture", "-o", "x.png", "--region", "1,2,3"], display: nil).status == 64)
        #expect(try qwenAgent(["capture", "-o", "x.png", "--region", "0,0,5,5", "--monitor", "A"], display: nil).status == 64)
    }

    @Test func captureClickTypeKeyAndMonitorsOnARealDisplay() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-capture-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }

            let png = folder.appendingPathComponent("screen.png")
            let capture = try qwenAgent(["capture", "-o", png.path], display: virtual.name)
            #expect(capture.status == 0, "\(capture.stderr)")
            let screen = try PNG.read(from: png)
            #expect(screen.size == Size(width: 1280, height: 800))
            #expect(screen[app.widget("navy").rect.center] == RGB(hex: 0x123456))

            let region = folder.appendingPathComponent("region.png")
            let red = app.widget("red").rect
            #expect(try qwenAgent(["capture", "-o", region.path, "--region", "\(red.x),\(red.y),\(red.width),\(red.height)"],
                                  display: virtual.name).status == 0)
            #expect(try PNG.read(from: region) == RGBImage(width: red.width, height: red.height, fill: RGB(hex: 0xFF0000)))

            let field = app.widget("field").rect.center
            #expect(try qwenAgent(["click", "\(field.x)", "\(field.y)"], display: virtual.name).status == 0)
            let press = try #require(try app.waitForEvents { $0.contains { $0.event == "button_press" } }.first { $0.event == "button_press" })
            #expect(press.rootX == field.x && press.rootY == field.y && press.widget == "field")

            #expect(try qwenAgent(["type", "Grüße, 世界!"], display: virtual.name).status == 0)
            #expect(try qwenAgent(["key", "backspace", "shift+1"], display: virtual.name).status == 0)
            try app.waitForEvents { _ in app.fieldValue() == "Grüße, 世界!" }

            let monitors = try qwenAgent(["monitors", "--json"], display: virtual.name)
            #expect(monitors.status == 0)
            #expect(monitors.stdout.contains("\"width\":1280"))

            let offScreen = try qwenAgent(["click", "5000", "5"], display: virtual.name)
            #expect(offScreen.status == 64)
            #expect(offScreen.stderr.contains("outside the 1280x800 screen"))
            let badKey = try qwenAgent(["key", "ctrl+frobnicate"], display: virtual.name)
            #expect(badKey.status == 65)
            #expect(badKey.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func demoRunsTheScriptedAgentAndLogsOut() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try qwenAgent(["demo", "-o", folder.path], display: nil)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("SCRIPTED, not a model"))
        #expect(run.stdout.contains("outcome: success; the app reports it logged out"))
        let log = try String(contentsOf: folder.appendingPathComponent("fixture-events.jsonl"), encoding: .utf8)
        #expect(log.contains("\"event\":\"logged_out\""))
        let before = try PNG.read(from: folder.appendingPathComponent("before.png"))
        let after = try PNG.read(from: folder.appendingPathComponent("after.png"))
        // The app's window is at (320, 200): home is white there, the sign-in screen #ECECEC.
        #expect(before[Point(x: 620, y: 570)] == RGB(hex: 0xFFFFFF))
        #expect(after[Point(x: 620, y: 570)] == RGB(hex: 0xECECEC))
        // The planned click is marked on before.png (the first click: the avatar, 730/1000 of 1280 wide, 280/1000 of 800 high).
        let marker = RGB(hex: 0xE0301E)
        let target = Point(x: 934, y: 224)
        let marked = (-20...20).flatMap { dy in (-20...20).map { dx in Point(x: target.x + dx, y: target.y + dy) } }.filter { before[$0] == marker }
        #expect(marked.count > 20, "a red marker around \(target)")
    }
}
