import Agent
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Logging
import Models

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the agent log out of an app on a private virtual display — scripted, no model needed.",
        discussion: """
            Starts Xvfb (your own display is not touched), opens the fixture app signed in, and runs \
            `qwen-agent "log out of the app"` on it with the SCRIPTED backend: the replies come from \
            Fixtures/Transcripts/log-out.txt, written in Qwen3-VL Thinking's format, not from a model. \
            Everything else is real: capture, parsing, the coordinate mapping, XTest input, settling and \
            verification. Writes before.png (the planned click marked) and after.png.
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Folder for the screenshots and the app's event log.", valueName: "dir"))
    var output = "qwen-agent-demo"

    @Flag(name: .shortAndLong, help: "Log what happens to stderr.")
    var verbose = false

    func run() async throws {
        var logger = Logger(label: "qwen-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let folder = URL(fileURLWithPath: output)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            try fail("cannot create \(folder.path): \(error.localizedDescription)", status: ExitStatus.cannotCreate)
        }
        guard let transcript = Self.find("Fixtures/Transcripts/log-out.txt") else {
            try fail("cannot find Fixtures/Transcripts/log-out.txt next to this build of qwen-agent", status: ExitStatus.dataError)
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
            try Self.waitForLine(containing: "\"event\":\"screen\"", in: log)
            print("2. opened the fixture app, signed in as ada")

            let display = try Display(name: virtual.name, logger: logger)
            let capturer = ScreenCapturer(display: display)
            try PNG.write(try capturer.capture(), to: folder.appendingPathComponent("before.png"))
            let model = try ScriptedModel(transcript: transcript)
            print("3. running: qwen-agent \"log out of the app\"   (model: \(model.identity) — SCRIPTED, not a model)")
            let events = AgentEvents.printing
            let area = try display.screenBounds()
            let recorder = try SessionRecorder(
                directory: FileChecks.unusedFolder(named: "session", in: folder),
                header: Run.sessionHeader(task: "log out of the app", profile: profile, model: model.identity, display: display.name, area: area))
            let loop = try AgentLoop(display: display, input: try InputController(display: display), profile: profile, model: model,
                                     area: area, events: events, recorder: recorder, logger: logger)
            outcome = await loop.run(task: "log out of the app")
            try PNG.write(try capturer.capture(), to: folder.appendingPathComponent("after.png"))
            let loggedOut = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\"event\":\"logged_out\"")
            print("\n4. outcome: \(outcome); the app \(loggedOut ? "reports it logged out" : "did NOT log out")")
            print("   screenshots: \(folder.path)/before.png, after.png; every event the app received: \(log.path)")
            print("   session: \(recorder.directory.path)  (qwen-agent show \(recorder.directory.path) -o report.html)")
        }
        if outcome != .success(answer: nil) { throw ExitCode(Run.exitStatus(outcome)) }
    }

    /// A file of the source checkout this binary was built in (walking up from the binary), or of the current folder.
    static func find(_ relative: String) -> URL? {
        var directory = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        for _ in 0..<6 {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(relative)
        return FileManager.default.fileExists(atPath: here.path) ? here : nil
    }

    private static func waitForLine(containing text: String, in log: URL) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text) { return }
            usleep(20_000)
        }
        try fail("the fixture app did not start within 10 s (see \(log.path))", status: 1)
    }
}
