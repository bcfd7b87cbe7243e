import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging
import Models
import Synchronization

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the agent log out of an app on a private virtual display — scripted, no model needed.",
        discussion: """
            Starts Xvfb (your own display is not touched), opens the fixture app signed in, and runs \
            `qwen-agent "log out of the app"` on it with the SCRIPTED backend: the replies come from \
            Fixtures/Transcripts/log-out.txt (compiled in), written in Qwen3-VL Thinking's format, not from a model. \
            Everything else is real: capture, parsing, the coordinate mapping, XTest input, settling and \
            verification. Writes before.png (the planned click marked) and after.png.
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Folder for the screenshots and the app's event log.", valueName: "dir"))
    var output = "qwen-agent-demo"

    @Flag(name: .shortAndLong, help: "Log what happens to stderr.")
    var verbose = false

    func run() async throws {
        // Starting Xvfb and the app waits on pipes and processes: on a thread of the demo's own, not the pool's.
        let thread = DedicatedThread(name: "qwen-agent demo")
        defer { thread.stop() }
        try await withTaskExecutorPreference(thread) { try await demo() }
    }

    private func demo() async throws {
        var logger = Logger(label: "qwen-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let folder = URL(fileURLWithPath: output)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            try fail("cannot create \(folder.path): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
        }
        let profile = try ModelOptions.profile(named: "desktop-thinking")
        var outcome: Outcome = .error("not started")
        try await reportingFailures {
            let virtual = try VirtualDisplay(size: Size(width: 1280, height: 800), logger: logger)
            defer { virtual.stop() }
            print("1. started a private X server (Xvfb) on display \(virtual.name)")
            let log = folder.appendingPathComponent("fixture-events.jsonl")
            let fixture = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                .deletingLastPathComponent().appendingPathComponent("qwen-agent-fixture")
            let app = try virtual.launch(fixture, arguments: ["--log", log.path, "--x", "320", "--y", "200", "--scenario", "login",
                                                              "--start", "home", "--user", "ada"], stderr: .inherit)
            defer { app.terminate() }
            try await Self.waitForLine(containing: "\"event\":\"screen\"", in: log)
            print("2. opened the fixture app, signed in as ada")

            let display = try Display(name: virtual.name, logger: logger)
            let capturer = ScreenCapturer(display: display)
            let before = try await Self.firstPaint(capturer)
            let model = try ScriptedModel(transcript: DemoTranscript.logOut, name: "built-in Fixtures/Transcripts/log-out.txt")
            print("3. running: qwen-agent \"log out of the app\"   (model: \(model.identity) — SCRIPTED, not a model)")
            var events = AgentEvents.printing()
            let firstTarget = Mutex<Point?>(nil)
            let printAction = events.acting
            events.acting = { step, resolved in
                if let point = resolved.point { firstTarget.withLock { $0 = $0 ?? point } }
                printAction(step, resolved)
            }
            let area = try display.screenBounds()
            let seat = ModelSeat(profile: profile, model: model)
            let recorder = try SessionRecorder(
                directory: FileChecks.unusedFolder(named: "session", in: folder),
                header: SessionHeader(task: "log out of the app", profile: profile.name, model: RecordedModel(model.identity),
                                      display: display.name, area: area, coordinateSpace: profile.coordinateSpace, shape: profile.shape))
            let desktop = X11Desktop(display: display, input: try InputController(display: display), area: area)
            let loop = AgentLoop(screen: desktop, input: desktop, windows: desktop, models: .one(seat), events: events,
                                 recorder: recorder, logger: logger)
            outcome = await loop.run(task: "log out of the app")
            var marked = before
            if let target = firstTarget.withLock({ $0 }) { marked.drawMarker(at: target, color: RGB(hex: 0xE0301E)) }
            try PNG.write(marked, to: folder.appendingPathComponent("before.png"))
            try PNG.write(try await desktop.capture(), to: folder.appendingPathComponent("after.png"))
            let loggedOut = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\"event\":\"logged_out\"")
            print("\n4. outcome: \(outcome); the app \(loggedOut ? "reports it logged out" : "did NOT log out")")
            print("   screenshots: \(folder.path)/before.png, after.png; every event the app received: \(log.path)")
            print("   session: \(recorder.directory.path)  (qwen-agent show \(recorder.directory.path) -o report.html)")
        }
        if outcome != .success(answer: nil) { throw ExitCode(Run.exitStatus(outcome)) }
    }

    /// The screen once the app has painted: a screenshot that is not one flat colour (a freshly
    /// mapped window can still be black when its first "screen" line is logged).
    private static func firstPaint(_ capturer: ScreenCapturer) async throws -> RGBImage {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let screenshot = try capturer.capture()
            let flat = RGBImage(width: screenshot.width, height: screenshot.height, fill: screenshot[0, 0])
            if !ScreenChange(from: flat, to: screenshot).isNothing || ContinuousClock.now > deadline { return screenshot }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private static func waitForLine(containing text: String, in log: URL) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        try fail("the fixture app did not start within 10 s (see \(log.path))", status: 1)
    }
}
