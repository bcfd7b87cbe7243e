import Desktop
import Foundation
import Imaging
import Keys
import TestSupport
import TestSupportCore
import Testing

/// What lasts as long as `qwen-agent mcp`: the input tools' session and its end, the abort chord
/// during an input tool, the embedded model.
extension MCPServerTests {
    /// The one session folder the server wrote under `sessions`, and its lines.
    func serverSession(in sessions: URL) throws -> (folder: URL, lines: [String]) {
        let folders = try FileManager.default.contentsOfDirectory(at: sessions.appendingPathComponent("qwen-agent/sessions"), includingPropertiesForKeys: nil)
        try #require(folders.count == 1, "\(folders)")
        let text = try String(contentsOf: folders[0].appendingPathComponent("session.jsonl"), encoding: .utf8)
        return (folders[0], text.split(separator: "\n").map(String.init))
    }

    @Test func theInputToolsSessionGetsAnOutcomeWhenTheClientHangsUpAndShowAndReplayReadIt() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                _ = try loginApp(on: virtual)
                // A move changes nothing on the screen, so the dry run below finds the recorded screen again.
                let _: CallsOutput = try client("calls", on: virtual, sessions: sessions) {
                    $0.calls = [.init(name: "move", arguments: "{\"coordinate\": [100, 100]}")]
                }
                let (folder, lines) = try serverSession(in: sessions)
                let last = try #require(lines.last)
                #expect(last.contains("\"type\":\"outcome\"") && last.contains("\"outcome\":\"success\""), "\(last)")
                #expect(last.contains("1 action(s) of an MCP client; the client disconnected"), "\(last)")
                let report = folder.appendingPathComponent("report.html")
                let show = try qwenAgent(["show", folder.path, "-o", report.path], display: nil)
                #expect(show.status == 0 && show.stdout == "\(report.path): 1 step(s), outcome success\n", "\(show.stdout)\(show.stderr)")
                let dry = try qwenAgent(["replay", folder.path, "--dry-run"], display: virtual.name)
                #expect(dry.status == 0 && dry.stdout.hasSuffix("dry run: 1 of 1 step(s) checked, nothing sent\n"), "\(dry.stdout)\(dry.stderr)")
            }
        }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func sigtermAndSigintEndTheInputToolsSessionWithAnOutcome(signal: Int32) throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                _ = try loginApp(on: virtual)
                struct Output: Decodable { var exitStatus: Int }
                let output: Output = try client("signal_after_click", on: virtual, sessions: sessions) {
                    $0.calls = [.init(name: "click", arguments: "{\"coordinate\": [730, 280]}")]
                    $0.signal = signal
                }
                #expect(output.exitStatus == 0, "the server ends cleanly on the signal")
                let last = try #require(try serverSession(in: sessions).lines.last)
                #expect(last.contains("\"type\":\"outcome\"") && last.contains("\"outcome\":\"success\""), "\(last)")
                #expect(last.contains("the server was stopped (SIGINT or SIGTERM)"), "\(last)")
            }
        }
    }

    @Test func theAbortChordStopsALongTypeReleasesEveryKeyAndTheResultSaysSo() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
                let field = app.widget("field").rect.center
                let text = String(repeating: "abcdefghij", count: 1000)
                // A person presses the chord (from another X client) once the typing has begun.
                let name = virtual.name, events = app.logURL
                let presser = Thread {
                    try? waitUntil("the typing has begun", timeout: 60) {
                        ((try? String(contentsOf: events, encoding: .utf8)) ?? "").components(separatedBy: "\"key_press\"").count > 20
                    }
                    if let display = try? Display(name: name, logger: testLogger) {
                        try? InputController(display: display).press(KeyChord(parsing: "ctrl+alt+Escape"))
                    }
                }
                presser.start()
                let output: CallsOutput = try client("calls", on: virtual, sessions: sessions) { config in
                    config.calls = [.init(name: "click", arguments: "{\"coordinate\": [\((field.x * 1000 + 640) / 1280), \((field.y * 1000 + 400) / 800)]}"),
                                    .init(name: "type", arguments: "{\"text\": \"\(text)\"}")]
                }
                let typed = output.results[1]
                #expect(typed.isError == true, "\(typed)")
                #expect(typed.text?.contains("aborted, the abort chord (ctrl+alt+Escape) was pressed") == true, "\(typed)")
                #expect((app.fieldValue() ?? "").count < text.count, "the typing stopped at the chord")
                let display = try Display(name: virtual.name, logger: testLogger)
                #expect(HeldInput.keys(display).isEmpty, "no key held")
                #expect(HeldInput.buttons(display) == 0, "no button held")
                let lines = try serverSession(in: sessions).lines
                #expect(lines.contains { $0.contains("\"status\":\"aborted\"") }, "the aborted action is in the session as far as it went")
            }
        }
    }

    @Test func theEmbeddedModelIsLoadedOnceForTwoRunTasks() throws {
        let profile = try EmbeddedEngineTests.tinyProfile()
        defer { try? FileManager.default.removeItem(at: profile) }
        try withSessions { sessions in
            try withVirtualDisplay(size: Size(width: 1280, height: 720)) { virtual in
                let log = sessions.appendingPathExtension("stderr")
                defer { try? FileManager.default.removeItem(at: log) }
                let run = ClientConfig.Call(name: "run_task", arguments: "{\"task\": \"look at the screen\", \"max_steps\": 1}")
                let output: CallsOutput = try client("calls", on: virtual, arguments: ["--agent", profile.path, "--verbose"] + EmbeddedEngineTests.modelArguments,
                                                     sessions: sessions) {
                    $0.calls = [run, run]
                    $0.errlog = log.path
                }
                // Both runs ran on the engine (random weights: whatever outcome, but an outcome).
                #expect(output.results.count == 2 && output.results.allSatisfy { $0.text?.contains("session: ") == true }, "\(output)")
                let stderr = try String(contentsOf: log, encoding: .utf8)
                #expect(stderr.components(separatedBy: "embedded Qwen3-VL ready").count - 1 == 1, "one load for the server's lifetime:\n\(stderr.suffix(2000))")
            }
        }
    }
}
