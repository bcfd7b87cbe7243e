@testable import Desktop
import Keys
import CX11
import Foundation
import Imaging
import TestSupport
import Testing
import TestSupportCore

/// Scripted replies in the real Qwen3-VL Thinking format: reasoning, `</think>`, one tool call.
func thinkingReply(_ reasoning: String, _ arguments: String) -> String {
    "\(reasoning)\n</think>\n\nAction: \(reasoning.prefix(40))\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": \(arguments)}\n</tool_call>"
}

/// A point of the 1280x800 screen on the 0–1000 grid (the centre of the pixel).
func grid(_ point: Point) -> String {
    "[\(Int((Double(point.x) + 0.5) * 1000 / 1280)), \(Int((Double(point.y) + 0.5) * 1000 / 800))]"
}

@Suite("qwen-agent TASK end to end on Xvfb, with scripted transcripts")
struct AgentRunTests {
    /// Runs the agent on a fresh display with the basic fixture app and `replies` as the transcript.
    func run(arguments: [String] = [], stdin: String? = nil, _ replies: (FixtureApp) -> [String]) throws -> (run: CLIRun, app: [FixtureEvent]) {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let transcript = FileManager.default.temporaryDirectory.appendingPathComponent("transcript-\(UUID().uuidString).txt")
            try Data(replies(app).joined(separator: "\n---8<---\n").utf8).write(to: transcript)
            defer { try? FileManager.default.removeItem(at: transcript) }
            let result = try qwenAgent(["log out of the app", "--transcript", transcript.path] + arguments, display: virtual.name, stdin: stdin.map { Data($0.utf8) })
            return (result, app.events())
        }
    }

    @Test func logsOutAndReportsSuccess() throws {
        let (run, events) = try run { app in
            [thinkingReply("The Log out button is at the top right.", "{\"action\": \"left_click\", \"coordinate\": \(grid(app.widget("logout").rect.center))}"),
             thinkingReply("The app now shows Logged out.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
        }
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("model: scripted: "))
        #expect(run.stdout.contains("── step 2 ──") && run.stdout.contains("✔ success"))
        #expect(run.stdout.contains("the screen changed near the target"))
        #expect(events.contains { $0.event == "logged_out" })
    }

    @Test func theLogOutTranscriptLogsOutOfTheLoginScenario() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let transcript = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
            let run = try qwenAgent(["log out of the app", "--transcript", transcript.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)")
            let events = app.events()
            #expect(events.contains { $0.event == "clicked" && $0.widget == "avatar" })
            #expect(events.contains { $0.event == "clicked" && $0.widget == "logout" })
            #expect(events.contains { $0.event == "logged_out" })
            #expect(events.last { $0.event == "screen" }?.name == "login", "back on the sign-in screen")
        }
    }

    @Test func aServedModelOverHTTPLogsOut() async throws {
        // The same transcript, but served by a real HTTP server on loopback through the OpenAI API.
        let transcript = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
        try await withFakeServer { server in
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                         extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
                let run = try qwenAgent(["log out of the app", "--endpoint", server.endpoint.absoluteString,
                                         "--model", "transcript:\(transcript.path)"],
                                        display: virtual.name, environment: ["QWEN_AGENT_API_KEY": FakeOpenAIServer.apiKey])
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
                #expect(run.stdout.contains("model: served: "))
                #expect(!run.stdout.contains(FakeOpenAIServer.apiKey) && !run.stderr.contains(FakeOpenAIServer.apiKey))
                #expect(app.events().contains { $0.event == "logged_out" })
            }
            #expect(try await server.attempts("transcript:\(transcript.path)") == 3)
        }
    }

    @Test func aWrongClickIsReportedAndRetried() throws {
        let (run, events) = try run { app in
            [thinkingReply("Maybe the button is here.", "{\"action\": \"left_click\", \"coordinate\": [900, 900]}"),
             thinkingReply("Nothing changed; the Log out button is at the top right of the app.",
                           "{\"action\": \"left_click\", \"coordinate\": \(grid(app.widget("logout").rect.center))}"),
             thinkingReply("Logged out.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
        }
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("nothing on the screen changed"))
        #expect(events.filter { $0.event == "button_press" }.count == 1, "the wrong click landed outside the app")
        #expect(events.contains { $0.event == "logged_out" })
    }

    @Test func aRunThatNeverFinishesExhaustsTheBudget() throws {
        let (run, events) = try run(arguments: ["--max-steps", "3"]) { _ in
            (1...10).map { _ in thinkingReply("Type one more letter.", "{\"action\": \"type\", \"text\": \"a\"}") }
        }
        #expect(run.status == 3, "\(run.stdout)")
        #expect(run.stdout.contains("budget exhausted after 3 steps"))
        #expect(events.last { $0.event == "field" }?.value == "aaa")
    }

    @Test func malformedRepliesAreAskedAgainAndNeverCountAsSuccess() throws {
        let (recovered, events) = try run { app in
            ["<tool_call>{\"name\": \"computer_use\"", // no </think>: truncated reasoning
             "Clicking now.\n</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [12, \n</tool_call>",
             thinkingReply("Log out is at the top right.", "{\"action\": \"left_click\", \"coordinate\": \(grid(app.widget("logout").rect.center))}"),
             thinkingReply("Done.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
        }
        #expect(recovered.status == 0, "\(recovered.stdout)")
        #expect(recovered.stdout.contains("unterminated_thinking") && recovered.stdout.contains("malformed_tool_call"))
        #expect(events.contains { $0.event == "logged_out" })

        let (hopeless, after) = try run { _ in ["no reasoning end", "still nothing", "</think>\nI am done, I think."] }
        #expect(hopeless.status == 4, "\(hopeless.stdout)")
        #expect(hopeless.stdout.contains("3 replies in a row could not be used"))
        #expect(!hopeless.stdout.contains("✔"))
        #expect(!after.contains { $0.event == "button_press" || $0.event == "key_press" })

        // --max-bad-replies sets the budget: two unusable replies end the run before the third is read.
        let (stricter, _) = try run(arguments: ["--max-bad-replies", "2"]) { _ in ["no reasoning end", "still nothing", "</think>\nI am done, I think."] }
        #expect(stricter.status == 4 && stricter.stdout.contains("2 replies in a row could not be used"), "\(stricter.stdout)")
        #expect(!stricter.stdout.contains("── step 3 ──"), "\(stricter.stdout)")
        let zero = try qwenAgent(["log out of the app", "--transcript", "/dev/null", "--max-bad-replies", "0"], display: nil)
        #expect(zero.status == 64 && zero.stderr.contains("--max-bad-replies must be at least 1"), "\(zero.stderr)")
    }

    @Test func theAbortHotkeyStopsTheRunWithinAStep() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("abort-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let transcript = folder.appendingPathComponent("transcript.txt")
            // Twenty one-second waits: without the hotkey the run would take twenty seconds.
            try Data((1...20).map { _ in thinkingReply("Wait for the app.", "{\"action\": \"wait\", \"time\": 1}") }
                .joined(separator: "\n---8<---\n").utf8).write(to: transcript)
            let output = folder.appendingPathComponent("out.txt")
            let fd = open(output.path, O_WRONLY | O_CREAT, 0o600)
            let started = Date()
            let agent = try virtual.launch(TestProducts.url(of: "qwen-agent"), arguments: ["log out", "--transcript", transcript.path],
                                           stdout: .descriptor(fd), stderr: .descriptor(fd))
            close(fd)
            try waitUntil("the run has started") { (try? String(contentsOf: output, encoding: .utf8))?.contains("── step 2 ──") == true }
            // A person presses the abort chord (from another client, like a real keyboard would).
            let display = try Display(name: virtual.name, logger: testLogger)
            try InputController(display: display).press(KeyChord(parsing: "ctrl+alt+Escape"))
            let status = agent.wait(timeout: 10)
            #expect(status == 130)
            #expect(Date().timeIntervalSince(started) < 8, "stopped within a step, not after twenty")
            let text = try String(contentsOf: output, encoding: .utf8)
            #expect(text.contains("aborted by the user"), "\(text)")
            // Nothing is left pressed on the server.
            var keys = [CChar](repeating: 0, count: 32)
            XQueryKeymap(display.raw, &keys)
            #expect(keys.allSatisfy { $0 == 0 })
            #expect(!app.events().contains { $0.event == "key_press" && $0.keysymName == "Escape" },
                    "the grabbed chord never reached the app")
        }
    }

    /// The abort chord works while the model says nothing for a long time (an embedded engine reading
    /// a screenshot, a server still loading): the run does not wait for the next piece of the reply.
    @Test func theAbortHotkeyStopsTheRunWhileTheModelIsSilent() async throws {
        try await withFakeServer { server in
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                defer { withExtendedLifetime(app) {} }  // on the screen for the whole test
                let output = FileManager.default.temporaryDirectory.appendingPathComponent("silent-\(UUID().uuidString).txt")
                defer { try? FileManager.default.removeItem(at: output) }
                let fd = open(output.path, O_WRONLY | O_CREAT, 0o600)
                // "slow" holds the request for 300 s without a byte; the profile's idle timeout is 240 s.
                let agent = try virtual.launch(TestProducts.url(of: "qwen-agent"),
                                               arguments: ["log out", "--endpoint", server.endpoint.absoluteString, "--model", "slow"],
                                               environment: ["QWEN_AGENT_API_KEY": FakeOpenAIServer.apiKey],
                                               stdout: .descriptor(fd), stderr: .descriptor(fd))
                close(fd)
                try waitUntil("the first step has started") { (try? String(contentsOf: output, encoding: .utf8))?.contains("── step 1 ──") == true }
                Thread.sleep(forTimeInterval: 0.5) // the request is on its way
                let pressed = Date()
                let display = try Display(name: virtual.name, logger: testLogger)
                try InputController(display: display).press(KeyChord(parsing: "ctrl+alt+Escape"))
                let status = agent.wait(timeout: 20)
                #expect(status == 130, "\((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
                #expect(Date().timeIntervalSince(pressed) < 10, "stopped without waiting for the silent model")
            }
        }
    }

    /// --step-timeout bounds a step even while the reply keeps trickling in (no idle timeout fires).
    @Test func aStepThatTakesTooLongEndsTheRunWithATimeout() async throws {
        try await withFakeServer { server in
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                defer { withExtendedLifetime(app) {} }  // on the screen for the whole test
                let started = Date()
                // "slow-stream" sends a piece every 0.1 s for 30 s.
                let run = try qwenAgent(["log out", "--endpoint", server.endpoint.absoluteString, "--model", "slow-stream", "--step-timeout", "1"],
                                        display: virtual.name, environment: ["QWEN_AGENT_API_KEY": FakeOpenAIServer.apiKey])
                #expect(run.status == 4, "\(run.stdout)\(run.stderr)")
                #expect((run.stdout + run.stderr).contains("step time limit of 1 s"), "\(run.stdout)\(run.stderr)")
                #expect(Date().timeIntervalSince(started) < 20, "the 30-s reply was cut off")
            }
        }
    }

    @Test func onlyWindowRefusesOtherWindows() throws {
        let (run, events) = try run(arguments: ["--only-window", "QwenAgentFixture"]) { _ in
            [thinkingReply("Click the root window.", "{\"action\": \"left_click\", \"coordinate\": [950, 950]}")]
        }
        #expect(run.status == 2, "\(run.stdout)")
        #expect(run.stdout.contains("outside --only-window QwenAgentFixture"))
        #expect(!events.contains { $0.event == "button_press" })
    }
}
