import Agent
import AgentCore
import CX11
@testable import Desktop
import Foundation
import Imaging
import Keys
import TestSupport
import TestSupportCore
import Testing

/// What the test tells `Fixtures/MCPClient/client.py`: how to start the server, and what the scenario needs.
struct ClientConfig: Encodable {
    struct Call: Encodable {
        var name: String
        /// The arguments as a JSON text.
        var arguments: String
    }

    var command: [String]
    var env: [String: String] = [:]
    var png: String?
    var avatar: [Int]?
    var task: String?
    var cancelAfter: String?
    var planOnly: Bool?
    var cancelAfterSeconds: Double?
    var calls: [Call]?
    /// How the client's user answers confirmations (MCP elicitation); absent: the client cannot ask.
    var answer: String?
    /// A running `qwen-agent mcp --http` to connect to (instead of launching `command`), and its token.
    var url: String?
    var token: String?
    /// Where the launched server's stderr goes (default: the client's).
    var errlog: String?
    /// `signal_after_click`: the signal that stops the server.
    var signal: Int32?
}

/// A tool call's result, or its JSON-RPC error.
struct CallOutcome: Decodable {
    var text: String?
    var isError: Bool?
    var code: Int?
    var message: String?
}

struct DesktopOutput: Decodable {
    struct Facts: Decodable { var width: Int, height: Int }
    struct Parsed: Decodable {
        struct Action: Decodable { var action: String, x: Int?, y: Int? }
        var status: String
        var reason: String?
        var actions: [Action]
    }

    /// Each tool's argument names.
    var tools: [String: [String]]
    var screenshotText: String
    var screenshotMime: String
    var screenshotStructured: Facts
    var click: CallOutcome
    var errors: [String: CallOutcome]
    var stillServing: Bool
    var parse: Parsed
    var parseBad: Parsed
}

struct RunOutput: Decodable {
    var text: String?
    var outcome: String?
    var steps: Int?
    var session: String?
    var isError: Bool?
    var progress: String
    var stillServing: Bool?
    var images: Int?
    var planStatus: String?
    var planActions: [String]?
}

struct CancelledCallOutput: Decodable {
    /// The cancelled call's result, if one arrived before the cancellation.
    var completed: String?
    var stillServing: Bool
}

struct CallsOutput: Decodable {
    var results: [CallOutcome]
    var asked: [String]
}

struct RawOutput: Decodable {
    struct Reply: Decodable {
        struct Failure: Decodable { var code: Int, message: String }
        struct Tools: Decodable { var tools: [Named] }
        struct Named: Decodable { var name: String }
        var error: Failure?
        var result: Tools?
    }

    var notJson: Reply?
    var unknownMethod: Reply?
    var callWithoutName: Reply?
    var listAfter: Reply?
    var exitStatus: Int
}

@Suite("qwen-agent mcp, driven by the official Python MCP client over stdio on Xvfb")
struct MCPServerTests {
    static let client = Repository.fixtures.appendingPathComponent("MCPClient/client.py")

    /// Runs the Python client's `scenario` against `qwen-agent mcp --display DISPLAY arguments…`; returns its output.
    func client<Output: Decodable>(_ scenario: String, on display: VirtualDisplay, arguments: [String] = [], sessions: URL,
                                           _ config: (inout ClientConfig) -> Void = { _ in }) throws -> Output {
        var settings = ClientConfig(command: [TestProducts.url(of: "qwen-agent").path, "mcp", "--display", display.name] + arguments,
                                    env: ["XDG_DATA_HOME": sessions.path, "XDG_CACHE_HOME": sessions.path]) // sessions and prompt files of its own
        config(&settings)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let configText = String(decoding: try encoder.encode(settings), as: UTF8.self)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        let outFD = open(out.path, O_WRONLY | O_CREAT, 0o600), errFD = open(err.path, O_WRONLY | O_CREAT, 0o600)
        let python = try ChildProcess(Repository.testPython, arguments: [Self.client.path, scenario, configText],
                                      environment: ProcessInfo.processInfo.environment, stdout: .descriptor(outFD), stderr: .descriptor(errFD))
        close(outFD)
        close(errFD)
        let status = python.wait(timeout: 150)
        let stdout = try String(contentsOf: out, encoding: .utf8), stderr = try String(contentsOf: err, encoding: .utf8)
        try #require(status == 0, "the MCP client failed (\(String(describing: status))):\n\(stdout)\n\(stderr.suffix(3000))")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Output.self, from: Data(stdout.utf8))
    }

    func withSessions<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-sessions-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    func transcript(_ replies: [String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-transcript-\(UUID().uuidString).txt")
        try Data(replies.joined(separator: "\n---8<---\n").utf8).write(to: url)
        return url
    }

    func loginApp(on display: VirtualDisplay) throws -> FixtureApp {
        let app = try FixtureApp(on: display, origin: Point(x: 320, y: 200), extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
        try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
        return app
    }

    @Test func screenshotAndClickOpenTheAvatarMenuAndBadInputIsAProtocolError() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try loginApp(on: virtual)
                let avatar = app.widget("avatar").rect.center
                let png = sessions.appendingPathExtension("png")
                defer { try? FileManager.default.removeItem(at: png) }
                let output: DesktopOutput = try client("desktop", on: virtual, sessions: sessions) { config in
                    config.png = png.path
                    config.avatar = [Int((Double(avatar.x) + 0.5) * 1000 / 1280), Int((Double(avatar.y) + 0.5) * 1000 / 800)]
                }

                // The tools, with the computer_use argument names.
                #expect(Set(output.tools.keys) == ["screenshot", "click", "double_click", "right_click", "drag", "scroll", "move", "type", "key",
                                                    "parse", "run_task"])
                #expect(output.tools["click"] == ["coordinate"] && output.tools["drag"] == ["coordinate", "start_coordinate"])
                #expect(output.tools["type"] == ["text"] && output.tools["key"] == ["keys"] && output.tools["scroll"] == ["coordinate", "pixels"])

                // The screenshot: a PNG of the stated size, showing the app (the avatar's orange) where the screen has it.
                #expect(output.screenshotMime == "image/png")
                #expect(output.screenshotText.contains("1280x800 at +0+0") && output.screenshotText.contains("0–1000"))
                let image = try PNG.read(from: png)
                #expect(image.size == Size(width: output.screenshotStructured.width, height: output.screenshotStructured.height))
                let scaled = Point(x: avatar.x * image.size.width / 1280, y: avatar.y * image.size.height / 800)
                #expect(image[Point(x: scaled.x, y: scaled.y + 12)] == RGB(hex: 0xF5B041), "the avatar's fill at its place in the screenshot")

                // The click landed on the avatar and opened its menu.
                #expect(output.click.isError == false, "\(output.click)")
                #expect(output.click.text?.contains("left_click at (\(avatar.x), \(avatar.y))") == true, "\(output.click)")
                let events = app.events()
                #expect(events.contains { $0.event == "clicked" && $0.widget == "avatar" })
                #expect(events.contains { $0.event == "menu" })

                // Bad input: JSON-RPC errors (invalid params) that say what is wrong; nothing sent; still serving.
                let expected: [String: String] = [
                    "unknown_tool": "unknown tool 'launch_rockets'", "missing_coordinate": "needs 'coordinate'",
                    "out_of_range": "x = 1200 is outside", "not_a_point": "must be a point [x, y]",
                    "oversized_text": "10001 characters; at most 10000", "unknown_argument": "'speed' is not one of them",
                    "unknown_key": "unknown key name 'nosuchkey'", "unknown_monitor": "no monitor named 'NOPE'",
                ]
                for (name, words) in expected {
                    let error = try #require(output.errors[name], "\(name)")
                    #expect(error.code == -32602, "\(name): \(error)")
                    #expect(error.message?.contains(words) == true, "\(name): \(error)")
                }
                #expect(app.events().filter { $0.event == "button_press" }.count == 1, "only the avatar click reached the app")
                #expect(!app.events().contains { $0.event == "key_press" })
                #expect(output.stillServing)

                // parse: a plan with screen pixels, or why the output does not parse.
                #expect(output.parse.status == "ok" && output.parse.actions.first?.action == "left_click")
                #expect(output.parse.actions.first?.x == 500 && output.parse.actions.first?.y == 400)
                #expect(output.parseBad.status == "unterminated_thinking" && output.parseBad.reason?.isEmpty == false)

                // The click is a step of the server's session, with its coordinate chain and input events.
                let folders = try FileManager.default.contentsOfDirectory(at: sessions.appendingPathComponent("qwen-agent/sessions"), includingPropertiesForKeys: nil)
                #expect(folders.count == 1, "one session for the server's lifetime")
                let text = try String(contentsOf: try #require(folders.first).appendingPathComponent("session.jsonl"), encoding: .utf8)
                #expect(text.contains("\"screen\":[\(avatar.x),\(avatar.y)]"), "\(text)")
                #expect(text.contains("\"kind\":\"button_down\"") && text.contains("\"source\":\"mcp\""))
            }
        }
    }

    @Test func runTaskLogsOutWithAScriptedTranscriptAndStreamsItsReasoning() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try loginApp(on: virtual)
                let logOut = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
                let output: RunOutput = try client("run", on: virtual, arguments: ["--transcript", logOut.path], sessions: sessions) { config in
                    config.task = "log out of the app"
                }
                #expect(output.outcome == "success", "\(output.text ?? "")")
                #expect(output.steps == 3 && output.isError == false)
                #expect(output.progress.contains("── step 2 ──") && output.progress.contains("orange square avatar"), "the reasoning streamed")
                #expect(output.progress.contains("→ left_click at"))
                let events = app.events()
                #expect(events.contains { $0.event == "clicked" && $0.widget == "avatar" })
                #expect(events.contains { $0.event == "logged_out" })
                let session = try #require(output.session)
                let log = try String(contentsOf: URL(fileURLWithPath: session).appendingPathComponent("session.jsonl"), encoding: .utf8)
                #expect(log.contains("\"outcome\":\"success\""))
            }
        }
    }

    @Test func planOnlyReturnsThePlanOnAPictureAndTouchesNothing() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try loginApp(on: virtual)
                let logOut = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
                let output: RunOutput = try client("run", on: virtual, arguments: ["--transcript", logOut.path], sessions: sessions) { config in
                    config.task = "log out of the app"
                    config.planOnly = true
                }
                #expect(output.planStatus == "ok" && output.planActions == ["left_click"], "\(output.text ?? "")")
                #expect(output.images == 1, "the screenshot with the plan drawn on it")
                #expect(output.progress.contains("orange square avatar"))
                #expect(!app.events().contains { $0.event == "button_press" || $0.event == "key_press" })
            }
        }
    }

    @Test func pixelCoordinatesArePixelsOfTheDownscaledScreenshot() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try loginApp(on: virtual)
                let avatar = app.widget("avatar").rect.center
                // --max-pixels makes the screenshot smaller than the screen; the click is in its pixels.
                let sent = ModelImage.shape(for: Size(width: 1280, height: 800), limits: .init(minPixels: 3136, maxPixels: 300_000), space: .imagePixels).size
                #expect(sent.width < 1280)
                let point = "[\((avatar.x * sent.width + 640) / 1280), \((avatar.y * sent.height + 400) / 800)]"
                let output: CallsOutput = try client("calls", on: virtual, arguments: ["--coordinates", "pixels", "--max-pixels", "300000"], sessions: sessions) {
                    $0.calls = [.init(name: "click", arguments: "{\"coordinate\": \(point)}"), .init(name: "screenshot", arguments: "{}"),
                                .init(name: "click", arguments: "{\"coordinate\": \(point)}")]
                }
                #expect(output.results[0].code == -32602 && output.results[0].message?.contains("call screenshot first") == true, "\(output)")
                #expect(output.results[1].text?.contains("sent as \(sent)") == true && output.results[1].text?.contains("pixels of this") == true, "\(output)")
                #expect(output.results[2].isError == false, "\(output)")
                #expect(app.events().contains { $0.event == "clicked" && $0.widget == "avatar" })
            }
        }
    }

    @Test func cancellingRunTaskAbortsTheRunAndReleasesEveryButton() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try loginApp(on: virtual)
                // Step 1 holds the left button down; step 2 waits long enough for the client to cancel.
                let hold = try transcript([
                    thinkingReply("Hold the button down on the body.", "{\"action\": \"left_mouse_down\"}"),
                    thinkingReply("Wait a long while.", "{\"action\": \"wait\", \"time\": 60}"),
                ])
                defer { try? FileManager.default.removeItem(at: hold) }
                let started = Date()
                let output: RunOutput = try client("cancel", on: virtual, arguments: ["--transcript", hold.path], sessions: sessions) { config in
                    config.task = "hold on"
                    config.cancelAfter = "→ wait"
                }
                #expect(output.outcome == "aborted-by-user", "\(output.progress)")
                #expect(Date().timeIntervalSince(started) < 50, "the run stopped at the cancellation, not after its wait")
                #expect(output.stillServing == true)
                // The button the run pressed was let go, and nothing is held on the server.
                let events = app.events()
                #expect(events.contains { $0.event == "button_press" } && events.contains { $0.event == "button_release" })
                let display = try Display(name: virtual.name, logger: testLogger)
                var keys = [CChar](repeating: 0, count: 32)
                XQueryKeymap(display.raw, &keys)
                #expect(keys.allSatisfy { $0 == 0 })
                var root: Window = 0, child: Window = 0
                var rootX: Int32 = 0, rootY: Int32 = 0, windowX: Int32 = 0, windowY: Int32 = 0
                var mask: UInt32 = 0
                XQueryPointer(display.raw, XDefaultRootWindow(display.raw), &root, &child, &rootX, &rootY, &windowX, &windowY, &mask)
                #expect(mask & UInt32(Button1Mask | Button2Mask | Button3Mask) == 0, "no mouse button held")
            }
        }
    }

    @Test func cancellingALongTypeStopsItAndReleasesEveryKey() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
                try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
                let field = app.widget("field").rect.center
                let text = String(repeating: "abcdefghij", count: 1000)
                let output: CancelledCallOutput = try client("cancel_call", on: virtual, sessions: sessions) { config in
                    config.calls = [.init(name: "click", arguments: "{\"coordinate\": [\((field.x * 1000 + 640) / 1280), \((field.y * 1000 + 400) / 800)]}"),
                                    .init(name: "type", arguments: "{\"text\": \"\(text)\"}")]
                    config.cancelAfterSeconds = 1.5
                }
                #expect(output.completed == nil && output.stillServing)
                let typed = app.fieldValue() ?? ""
                #expect(typed.count < text.count, "the typing stopped at the cancellation (\(typed.count) characters typed)")
                let display = try Display(name: virtual.name, logger: testLogger)
                var keys = [CChar](repeating: 0, count: 32)
                XQueryKeymap(display.raw, &keys)
                #expect(keys.allSatisfy { $0 == 0 }, "no key held")
                let folders = try FileManager.default.contentsOfDirectory(at: sessions.appendingPathComponent("qwen-agent/sessions"), includingPropertiesForKeys: nil)
                let log = try String(contentsOf: try #require(folders.first).appendingPathComponent("session.jsonl"), encoding: .utf8)
                #expect(log.contains("\"status\":\"cancelled\""), "the cancelled action is in the session as far as it went")
            }
        }
    }

    @Test func theAbortChordStopsARunTask() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                _ = try loginApp(on: virtual)
                // Five-second waits: the run would take a minute, and the stuck rule ends it only after four of them.
                let waits = try transcript((1...12).map { _ in thinkingReply("Wait for the app.", "{\"action\": \"wait\", \"time\": 5}") })
                defer { try? FileManager.default.removeItem(at: waits) }
                let folder = sessions.appendingPathComponent("qwen-agent/sessions")
                // A person presses the chord (from another X client) once the run is at its second step.
                let name = virtual.name
                let presser = Thread {
                    try? waitUntil("the run is at step 2", timeout: 60) {
                        let logs = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
                        return logs.contains { ((try? String(contentsOf: $0.appendingPathComponent("session.jsonl"), encoding: .utf8)) ?? "").contains("\"step\":1") }
                    }
                    if let display = try? Display(name: name, logger: testLogger) {
                        try? InputController(display: display).press(KeyChord(parsing: "ctrl+alt+Escape"))
                    }
                }
                presser.start()
                let output: RunOutput = try client("run", on: virtual, arguments: ["--transcript", waits.path], sessions: sessions) { config in
                    config.task = "wait"
                }
                #expect(output.outcome == "aborted-by-user", "\(output.text ?? "")")
                #expect((output.steps ?? 99) <= 3, "stopped at the chord, not at the end of the transcript")
            }
        }
    }

    @Test func confirmAsksTheClientsUserAndOnlyWindowRefuses() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try loginApp(on: virtual)
                let click = ClientConfig.Call(name: "click", arguments: "{\"coordinate\": [730, 280]}")
                // The user declines: nothing is sent.
                let declined: CallsOutput = try client("calls", on: virtual, arguments: ["--confirm"], sessions: sessions) { config in
                    config.calls = [click]
                    config.answer = "decline"
                }
                #expect(declined.asked.first?.contains("left_click at") == true, "\(declined)")
                #expect(declined.results.first?.isError == true && declined.results.first?.text?.contains("declined") == true)
                // A client that cannot ask: --confirm refuses outside an allow-list.
                let unasked: CallsOutput = try client("calls", on: virtual, arguments: ["--confirm"], sessions: sessions) { $0.calls = [click] }
                #expect(unasked.results.first?.text?.contains("--only-window") == true, "\(unasked)")
                // --only-window with another class refuses the click; with the app's class it goes through.
                let elsewhere: CallsOutput = try client("calls", on: virtual, arguments: ["--only-window", "XTerm"], sessions: sessions) { $0.calls = [click] }
                #expect(elsewhere.results.first?.text?.contains("outside --only-window XTerm") == true, "\(elsewhere)")
                #expect(!app.events().contains { $0.event == "button_press" }, "no refused click reached the app")
                let allowed: CallsOutput = try client("calls", on: virtual, arguments: ["--confirm", "--only-window", "QwenAgentFixture"], sessions: sessions) {
                    $0.calls = [click]
                }
                #expect(allowed.results.first?.isError == false, "\(allowed)")
                #expect(app.events().contains { $0.event == "clicked" && $0.widget == "avatar" })
            }
        }
    }

    @Test func runTaskArgumentsAreCheckedAndAModelIsNeeded() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let logOut = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
                let checked: CallsOutput = try client("calls", on: virtual, arguments: ["--transcript", logOut.path], sessions: sessions) {
                    $0.calls = [.init(name: "run_task", arguments: "{}"),
                                .init(name: "run_task", arguments: "{\"task\": \"log out\", \"profile\": \"nosuch\"}"),
                                .init(name: "run_task", arguments: "{\"task\": \"log out\", \"max_steps\": 0}")]
                }
                #expect(checked.results.map(\.code) == [-32602, -32602, -32602], "\(checked)")
                #expect(checked.results[0].message?.contains("needs 'task'") == true)
                #expect(checked.results[1].message?.contains("no agent profile 'nosuch'") == true)
                #expect(checked.results[2].message?.contains("'max_steps' must be a whole number of at least 1") == true)
                let modelless: CallsOutput = try client("calls", on: virtual, sessions: sessions) {
                    $0.calls = [.init(name: "run_task", arguments: "{\"task\": \"log out\"}")]
                }
                #expect(modelless.results.first?.isError == true && modelless.results.first?.text?.contains("run_task needs a model") == true, "\(modelless)")
            }
        }
    }

    @Test func startupProblemsAreOneLineWithAnExitStatus() throws {
        let noDisplay = try qwenAgent(["mcp"], display: nil)
        #expect(noDisplay.status == 69 && noDisplay.stderr.hasPrefix("qwen-agent: no X display"), "\(noDisplay.stderr)")
        #expect(noDisplay.stdout.isEmpty, "nothing but JSON-RPC ever goes to standard output")
        let badProfile = try qwenAgent(["mcp", "--agent", "nosuch"], display: nil)
        #expect(badProfile.status == 64 && badProfile.stderr.contains("no agent profile 'nosuch'"))
        try withVirtualDisplay { virtual in
            let badMonitor = try qwenAgent(["mcp", "--monitor", "NOPE"], display: virtual.name)
            #expect(badMonitor.status == 64 && badMonitor.stderr.contains("no monitor named 'NOPE'"), "\(badMonitor.stderr)")
        }
    }

    @Test func malformedJSONRPCGetsErrorsAndTheServerKeepsServing() throws {
        try withSessions { sessions in
            try withVirtualDisplay { virtual in
                let output: RawOutput = try client("raw", on: virtual, sessions: sessions)
                #expect(output.notJson?.error?.code == -32700, "\(output)")
                #expect(output.unknownMethod?.error?.code == -32601 && output.unknownMethod?.error?.message.contains("no/such/method") == true)
                #expect(output.callWithoutName?.error?.code == -32602 && output.callWithoutName?.error?.message.contains("needs 'name'") == true)
                #expect(output.listAfter?.result?.tools.count == 11)
                #expect(output.exitStatus == 0, "the server ends when its client closes stdin")
            }
        }
    }
}
