import Agent
import AgentCore
import Desktop
import Foundation
import Glibc
import Imaging
import TestSupport
import TestSupportCore
import Testing

/// Faults injected into real runs: the X server dies, the disk fills, the session folder is read-only.
@Suite("Injected faults end a run cleanly and leave its session readable")
struct FaultTests {
    /// Thirty typing steps, each of which changes the screen: a run long enough to break part-way.
    static func longTranscript() throws -> URL {
        let transcript = FileManager.default.temporaryDirectory.appendingPathComponent("long-\(UUID().uuidString).txt")
        try Data((1...30).map { _ in thinkingReply("Type one more letter.", "{\"action\": \"type\", \"text\": \"k\"}") }
            .joined(separator: "\n---8<---\n").utf8).write(to: transcript)
        return transcript
    }

    /// Xvfb stopped at a random moment after the second step started (during a capture, a keystroke or
    /// the settle wait): one line names the lost display, the exit status is 69, the session's
    /// complete steps are all there for `show`, and its last line is the outcome.
    @Test func theXServerDyingMidRunEndsWithOneLineAndAReadableSession() throws {
        let transcript = try Self.longTranscript()
        defer { try? FileManager.default.removeItem(at: transcript) }
        var generator = SeededGenerator()
        for _ in 0..<3 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("x-dies-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let session = folder.appendingPathComponent("session"), output = folder.appendingPathComponent("out.txt")
            let errors = folder.appendingPathComponent("err.txt")
            let delay = UInt32.random(in: 0...1_200_000, using: &generator)
            let (status, log) = try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
                let out = open(output.path, O_WRONLY | O_CREAT, 0o600), err = open(errors.path, O_WRONLY | O_CREAT, 0o600)
                let agent = try virtual.launch(TestProducts.url(of: "qwen-agent"),
                                               arguments: ["keep typing", "--transcript", transcript.path, "--session", session.path],
                                               stdout: .descriptor(out), stderr: .descriptor(err))
                close(out)
                close(err)
                try waitUntil("the second step has started") { (try? String(contentsOf: output, encoding: .utf8))?.contains("── step 2 ──") == true }
                usleep(delay)
                virtual.stop()
                return (agent.wait(timeout: 20), try SessionLog.read(session))
            }
            let context = "killed \(delay / 1000) ms into step 2; \(generator)"
            let stderr = try String(contentsOf: errors, encoding: .utf8)
            #expect(status == ExitStatus.displayUnavailable, "\(context): \(stderr)")
            let lines = stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == 1 && lines[0].contains("lost the connection to X display"), "\(context): \(stderr)")
            #expect(log.steps.count >= 1, "\(context): the first step was recorded")
            #expect(log.outcome?.outcome == "error" && log.outcome?.detail.contains("lost the connection to X display") == true,
                    "\(context): the session ends with its outcome: \(String(describing: log.outcome))")
            let show = try qwenAgent(["show", session.path, "-o", folder.appendingPathComponent("r.html").path], display: nil)
            #expect(show.status == 0, "\(context): \(show.stderr)")
        }
    }

    /// `qwen-agent type` and `qwen-agent drag` interrupted by SIGINT or SIGTERM at seeded random
    /// moments: afterwards the server shows no key or button down.
    @Test func signalsMidOperationLeaveNothingPressed() throws {
        var generator = SeededGenerator()
        var interrupted = 0
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let display = try Display(name: virtual.name, logger: testLogger)
            for round in 0..<6 {
                let arguments = round % 2 == 0
                    ? ["type", String(repeating: "Typed With Shift é世 ", count: 60)]
                    : ["drag", "150", "120", "650", "420", "--button", "right"]
                let signal = round % 3 == 0 ? SIGTERM : SIGINT
                let agent = try virtual.launch(TestProducts.url(of: "qwen-agent"), arguments: arguments)
                // Early rather than late: a signal before the handlers are in place still counts (the
                // server's state is the test), one after the operation ended does not.
                let delay = UInt32.random(in: 50_000...400_000, using: &generator)
                usleep(delay)
                let wasRunning = agent.isRunning
                agent.signal(signal)
                let status = agent.wait(timeout: 10)
                let context = "round \(round) (\(arguments[0]), signal \(signal) after \(delay / 1000) ms); \(generator)"
                if wasRunning && status != 0 {
                    interrupted += 1
                    // 130 once the handlers are in place; before that (a loaded machine starting slowly)
                    // the signal ends the process before it sends anything. The server's state is the test.
                    #expect(status == ExitStatus.interrupted || status == 128 + signal, "\(context)")
                }
                #expect(HeldInput.keys(display).isEmpty, "a key is down: \(context)")
                #expect(HeldInput.buttons(display) == 0, "a button is down: \(context)")
            }
        }
        #expect(interrupted >= 3, "most signals came mid-operation (\(interrupted) of 6)")
    }

    /// A session on a small tmpfs that fills after a few steps: the run stops with an error that says
    /// the disk is full, and every line already in `session.jsonl` is a whole JSON record.
    @Test func aFullDiskStopsTheRunWithAMessageAndEveryLineStaysValid() throws {
        let transcript = try Self.longTranscript()
        defer { try? FileManager.default.removeItem(at: transcript) }
        try withTmpfs(size: "160k") { disk in
            let session = disk.appendingPathComponent("session")
            let run = try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
                return try qwenAgent(["keep typing", "--transcript", transcript.path, "--session", session.path], display: virtual.name)
            }
            #expect(run.status == 4, "an error outcome: \(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("the session could not be written") && run.stdout.contains("No space left on device"), "\(run.stdout)")
            let log = try Data(contentsOf: session.appendingPathComponent("session.jsonl"))
            let lines = log.split(separator: 0x0A)
            #expect(log.last == 0x0A, "the log ends with a whole line")
            for line in lines {
                #expect((try? JSONSerialization.jsonObject(with: Data(line))) != nil, "not a JSON record: \(String(decoding: line, as: UTF8.self))")
            }
            let read = try SessionLog.read(session)
            #expect(read.warnings.isEmpty, "\(read.warnings)")
            #expect(read.steps.count >= 1 && read.steps.count < 30, "the disk filled part-way: \(read.steps.count) steps")
            let report = FileManager.default.temporaryDirectory.appendingPathComponent("full-\(UUID().uuidString).html")
            defer { try? FileManager.default.removeItem(at: report) }
            let show = try qwenAgent(["show", session.path, "-o", report.path], display: nil)
            #expect(show.status == 0, "\(show.stderr)")
        }
    }

    /// A session folder on a read-only file system is refused before anything is sent: one line, status 73.
    @Test func aReadOnlySessionFolderIsRefusedBeforeTheRun() throws {
        let transcript = try Self.longTranscript()
        defer { try? FileManager.default.removeItem(at: transcript) }
        try withTmpfs(size: "64k", readOnly: true) { disk in
            let run = try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
                defer { #expect(!app.events().contains { $0.event == "key_press" }, "nothing was typed") }
                return try qwenAgent(["keep typing", "--transcript", transcript.path, "--session", disk.appendingPathComponent("s").path],
                                     display: virtual.name)
            }
            #expect(run.status == 73, "\(run.stdout)\(run.stderr)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("Read-only file system"), "\(run.stderr)")
        }
    }
}
