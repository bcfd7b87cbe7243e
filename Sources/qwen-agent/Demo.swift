import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the desktop layer at work on a private virtual display (needs Xvfb, nothing else).",
        discussion: """
            Starts Xvfb, opens the fixture app, captures the screen, clicks the app's "Log out" button \
            through XTest, checks the app saw the click where it was aimed and the screen changed, and \
            writes before.png (the click marked) and after.png. Your own display is not touched.
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Folder for the screenshots and the app's event log.", valueName: "dir"))
    var output = "qwen-agent-demo"

    @Flag(name: .shortAndLong, help: "Log what happens to stderr.")
    var verbose = false

    func run() throws {
        var logger = Logger(label: "qwen-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let folder = URL(fileURLWithPath: output)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            try fail("cannot create \(folder.path): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
        }
        try reportingFailures {
            let virtual = try VirtualDisplay(size: Size(width: 1280, height: 800), logger: logger)
            defer { virtual.stop() }
            print("1. started a private X server (Xvfb) on display \(virtual.name)")
            try demonstrate(on: virtual, in: folder, logger: logger)
        }
    }

    private func demonstrate(on virtual: VirtualDisplay, in folder: URL, logger: Logger) throws {
        let log = folder.appendingPathComponent("fixture-events.jsonl")
        let fixture = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().appendingPathComponent("qwen-agent-fixture")
        let app = try virtual.launch(fixture, arguments: ["--log", log.path, "--x", "200", "--y", "150"], stderr: .inherit)
        defer { app.terminate() }
        let ready = try waitForEvent("ready", in: log)
        let origin = Point(x: ready["x"] as? Int ?? 0, y: ready["y"] as? Int ?? 0)
        let widgets = ready["widgets"] as? [[String: Any]] ?? []
        guard let button = widgets.first(where: { $0["name"] as? String == "logout" }),
              let bx = button["x"] as? Int, let by = button["y"] as? Int, let bw = button["width"] as? Int,
              let bh = button["height"] as? Int
        else { try fail("the fixture app did not describe its Log out button", status: 1) }
        let target = Rect(x: origin.x + bx, y: origin.y + by, width: bw, height: bh).center
        print("2. opened the fixture app at \(origin); its \"Log out\" button is centred at \(target)")

        let display = try Display(name: virtual.name, logger: logger)
        let capturer = ScreenCapturer(display: display)
        var before = try capturer.capture()
        let colourBefore = before[target]
        before.drawMarker(at: target)
        try PNG.write(before, to: folder.appendingPathComponent("before.png"))
        print("3. captured the screen (\(before.size), \(capturer.method.rawValue)) → \(folder.path)/before.png")

        try InputController(display: display).click(.left, at: target)
        let press = try waitForEvent("button_press", in: log)
        _ = try waitForEvent("logged_out", in: log)
        print("4. clicked at \(target) with XTest; the app received button \(press["button"] ?? "?") at "
              + "(\(press["root_x"] ?? "?"), \(press["root_y"] ?? "?")) and logged out")

        let after = try capturer.capture()
        try PNG.write(after, to: folder.appendingPathComponent("after.png"))
        print("5. captured again → \(folder.path)/after.png; the pixel at \(target) went from \(colourBefore) to \(after[target])")
        print("   every event the app received is in \(log.path)")
    }

    /// The first log line whose `event` is `name`, waiting up to ten seconds for it.
    private func waitForEvent(_ name: String, in log: URL) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let lines = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
            for line in lines {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   object["event"] as? String == name
                { return object }
            }
            usleep(20_000)
        }
        try fail("the fixture app did not report '\(name)' within 10 s (see \(log.path))", status: 1)
    }
}
