import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import TestSupport
import Testing
import TestSupportCore

@Suite("Sessions: every run leaves one, private and crash-safe, and show turns it into a report")
struct SessionTests {
    static let transcripts = Repository.fixtures.appendingPathComponent("Transcripts")

    @Test func aRunRecordsEveryStepWithFramesCoordinatesAndOutcome() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("session-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try qwenAgent(["log out of the app", "--transcript", Self.transcripts.appendingPathComponent("log-out.txt").path,
                                     "--session", folder.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)")
            #expect(run.stdout.contains("session: \(folder.path)"))
            #expect(app.events().contains { $0.event == "logged_out" })

            let session = try SessionLog.read(folder)
            #expect(session.warnings.isEmpty)
            #expect(session.header.task == "log out of the app")
            #expect(session.header.model.kind == "scripted")
            #expect(session.steps.count == 3)
            #expect(session.outcome?.outcome == "success")
            let first = session.steps[0]
            let point = try #require(first.performed.first?.point)
            // The whole coordinate chain: 0–1000 grid → screenshot pixels → screen pixels.
            #expect(point.model == [730, 280] && point.image == [934, 224] && point.screen == [934, 224])
            #expect(first.verification == "the screen changed near the target (8804 pixels)")
            // The executed XTest events: a move to the target, then the button going down and up there.
            let sent = try #require(first.inputEvents)
            #expect(sent.map(\.kind) == ["motion", "button_down", "button_up"])
            #expect(sent.first?.x == 934 && sent.first?.y == 224)
            for step in session.steps {
                for frame in [step.frames.before] + (step.frames.after.map { [$0] } ?? []) {
                    let image = try PNG.read(from: folder.appendingPathComponent(frame))
                    #expect(image.size == Size(width: 1280, height: 800))
                }
            }
            // Screenshots can hold private data: the folder and its files are the user's alone.
            #expect(try mode(folder) == 0o700 && mode(folder.appendingPathComponent("frames")) == 0o700)
            #expect(try mode(folder.appendingPathComponent("session.jsonl")) == 0o600)
            #expect(try mode(folder.appendingPathComponent("frames/step-0001-before.png")) == 0o600)

            let report = folder.appendingPathComponent("report.html")
            let show = try qwenAgent(["show", folder.path, "-o", report.path], display: nil)
            #expect(show.status == 0, "\(show.stderr)")
            let html = try String(contentsOf: report, encoding: .utf8)
            #expect(html.contains("<span class=\"badge success\">success</span>") && html.contains("scripted"))
            #expect(html.components(separatedBy: "<div class=\"step card\"").count == 4)
            #expect(html.contains("model (730, 280) → screenshot (934, 224) → screen (934, 224)"))
            #expect(html.contains("data:image/png;base64,"))
        }
    }

    @Test func secretsAreMaskedEverywhereTheyWouldBeRecorded() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let transcript = folder.appendingPathExtension("txt")
            defer { try? FileManager.default.removeItem(at: transcript) }
            try Data((thinkingReply("Type the password hunter2 into the field.", "{\"action\": \"type\", \"text\": \"hunter2\"}") + "\n---8<---\n"
                      + thinkingReply("Done.", "{\"action\": \"terminate\", \"status\": \"success\"}")).utf8).write(to: transcript)
            let run = try qwenAgent(["type the password", "--transcript", transcript.path, "--session", folder.path, "--secret", "hunter2",
                                     "--verbose"],  // the debug log is checked too
                                    display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)")
            #expect(app.fieldValue() == "hunter2", "the real text was typed")
            #expect(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"), "the terminal is masked too: \(run.stdout)")
            #expect(run.stdout.contains("→ type \"••••••\""), "\(run.stdout)")
            let log = try String(contentsOf: folder.appendingPathComponent("session.jsonl"), encoding: .utf8)
            #expect(!log.contains("hunter2"))
            #expect(log.contains("••••••"))
        }
    }

    @Test func runsKilledAtRandomMomentsLeaveReadableSessions() throws {
        // Thirty typing steps (each changes the screen); the run is killed with SIGKILL part-way.
        let transcript = FileManager.default.temporaryDirectory.appendingPathComponent("long-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: transcript) }
        try Data((1...30).map { _ in thinkingReply("Type one more letter.", "{\"action\": \"type\", \"text\": \"k\"}") }
            .joined(separator: "\n---8<---\n").utf8).write(to: transcript)
        // scripts/soak runs 100 (QWEN_AGENT_SOAK_KILLS=100).
        let kills = ProcessInfo.processInfo.environment["QWEN_AGENT_SOAK_KILLS"].flatMap { Int($0) } ?? 4
        var killedMidRun = 0
        for _ in 0..<kills {
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("killed-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: folder) }
                let agent = try virtual.launch(TestProducts.url(of: "qwen-agent"),
                                               arguments: ["keep typing", "--transcript", transcript.path, "--session", folder.path])
                usleep(UInt32.random(in: 300_000...1_800_000))
                if agent.isRunning { killedMidRun += 1 }
                agent.signal(SIGKILL)
                _ = agent.wait(timeout: 10)
                // Whatever the moment, every complete line is a whole step whose frames exist and decode.
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("session.jsonl").path) else { return }
                let session = try SessionLog.read(folder)
                #expect(session.warnings.count <= 1, "at most the last line is torn: \(session.warnings)")
                for (index, step) in session.steps.enumerated() {
                    #expect(step.step == index + 1, "steps are contiguous")
                    for frame in [step.frames.before] + (step.frames.after.map { [$0] } ?? []) {
                        #expect((try? PNG.read(from: folder.appendingPathComponent(frame))) != nil, "\(frame) is complete")
                    }
                }
                let show = try qwenAgent(["show", folder.path, "-o", folder.appendingPathComponent("r.html").path], display: nil)
                #expect(show.status == 0, "\(show.stderr)")
                // Replay reads it too: whatever it finds on the screen, the session is never unreadable (65) nor a crash.
                let replay = try qwenAgent(["replay", folder.path, "--dry-run"], display: virtual.name)
                #expect(replay.status != ExitStatus.dataError && replay.status < 128, "\(replay.stdout)\(replay.stderr)")
            }
        }
        print("runs killed: \(kills), killed mid-run: \(killedMidRun)")
        #expect(killedMidRun >= kills / 2, "most kills happened during the run")
    }

    @Test func aTornLastLineIsIgnoredWithAWarning() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("torn-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let recorder = try sessionWithHeader(in: folder, task: "t")
        try recorder.append(StepRecord(step: 1, frames: .init(before: "frames/step-0001-before.png"), output: "", status: "ok",
                                       plan: PlanRecord(status: "ok", actions: []), performed: []))
        let handle = try FileHandle(forWritingTo: folder.appendingPathComponent("session.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data("{\"type\":\"step\",\"step\":2,\"outp".utf8))
        try handle.close()
        let session = try SessionLog.read(folder)
        #expect(session.steps.count == 1)
        #expect(session.warnings == ["line 3 is incomplete (the run was cut off while writing it); it was ignored"])
        let missing = #expect(throws: SessionError.self) { try SessionLog.read(folder.appendingPathComponent("nope")) }
        #expect(missing?.message.contains("no session at") == true)
    }

    private func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int ?? 0) & 0o777
    }
}
