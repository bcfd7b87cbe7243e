import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

/// Issue 13 (and issue 12's exit-status and heal bugs) on a real X server: each test starts its own Xvfb.
@Suite("qwen-agent for a newcomer, on a display")
struct NewcomerDesktopTests {
    static let logOut = SessionTests.transcripts.appendingPathComponent("log-out.txt").path

    func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    }

    func headers(in session: URL) throws -> Int {
        try String(contentsOf: session.appendingPathComponent("session.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("\"type\":\"session\"") }.count
    }

    @Test func aBadKeyNameHasOneExitStatusWhereverItIsGiven() throws {
        try withVirtualDisplay { virtual in
            let agent = try qwenAgent(["log out of the app", "--transcript", Self.logOut, "--abort-key", "ctrl+frobnicate",
                                       "--session", temporary("abort").path], display: virtual.name)
            let key = try qwenAgent(["key", "ctrl+frobnicate"], display: virtual.name)
            #expect(agent.status == 65, "\(agent.stderr)")
            #expect(key.status == 65, "\(key.stderr)")
        }
    }

    @Test func aModelFailureInPlanIsStatus75NotNoDisplay() async throws {
        try await withFakeServer { server in
            try withVirtualDisplay { virtual in
                let out = temporary("plan").appendingPathExtension("png")
                let run = try qwenAgent(["plan", "log out of the app", "--endpoint", server.endpoint.absoluteString, "--model", "bad-request",
                                         "-o", out.path], display: virtual.name, environment: ["QWEN_AGENT_API_KEY": FakeOpenAIServer.apiKey])
                #expect(run.status == 75, "\(run.stderr)")
                #expect(run.stderr.hasPrefix("qwen-agent: the model failed: ") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            }
        }
    }

    @Test func aSessionFolderHoldsOneRun() throws {
        let folder = temporary("reuse")
        defer { try? FileManager.default.removeItem(at: folder) }
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let first = try qwenAgent(["log out of the app", "--transcript", Self.logOut, "--session", folder.path], display: virtual.name)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let clicks = app.events().filter { $0.event == "button_press" }.count
            let second = try qwenAgent(["log out of the app", "--transcript", Self.logOut, "--session", folder.path], display: virtual.name)
            #expect(second.status == 73)
            #expect(second.stderr == "qwen-agent: \(folder.path) is not empty; a session folder holds one run, so give a new folder (or an empty one)\n")
            let record = try qwenAgent(["record", folder.path, "--duration", "1"], display: virtual.name)
            #expect(record.status == 73 && record.stderr.contains("is not empty"), "\(record.stderr)")
            usleep(200_000)
            #expect(app.events().filter { $0.event == "button_press" }.count == clicks, "the refused run sent nothing")
        }
        #expect(try headers(in: folder) == 1)
        #expect(try SessionLog.read(folder).steps.count == 3)
    }

    @Test func theDemoRunTwiceKeepsBothSessionsApart() throws {
        let folder = temporary("demo-twice")
        defer { try? FileManager.default.removeItem(at: folder) }
        for _ in 0..<2 {
            let run = try qwenAgent(["demo", "-o", folder.path], display: nil)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        }
        for name in ["session", "session-2"] {
            let session = folder.appendingPathComponent(name)
            #expect(try headers(in: session) == 1, "\(name)")
            #expect(try SessionLog.read(session).steps.count == 3, "\(name)")
        }
    }

    @Test func planChecksItsOutputBeforeAskingTheModel() throws {
        try withVirtualDisplay { virtual in
            let run = try qwenAgent(["plan", "log out of the app", "--transcript", Self.logOut, "-o", "/nonexistent/plan.png"], display: virtual.name)
            #expect(run.status == 73)
            #expect(run.stderr == "qwen-agent: cannot write /nonexistent/plan.png: there is no folder /nonexistent\n")
            #expect(run.stdout.isEmpty, "the model was not asked: \(run.stdout)")
        }
    }

    @Test func aDragWithoutAStartIsDrawnFromThePointer() throws {
        let folder = temporary("drag")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let transcript = folder.appendingPathComponent("drag.txt"), picture = folder.appendingPathComponent("plan.png")
        // (500, 500) on the 0–1000 grid of the 1280x800 screen is (640, 400).
        try Data(thinkingReply("Drag it to the middle.", "{\"action\": \"left_click_drag\", \"coordinate\": [500, 500]}").utf8).write(to: transcript)
        try withVirtualDisplay { virtual in
            #expect(try qwenAgent(["move", "100", "100"], display: virtual.name).status == 0)
            let run = try qwenAgent(["plan", "drag it", "--transcript", transcript.path, "-o", picture.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let image = try PNG.read(from: picture)
        let red = RGB(hex: 0xE0301E)
        // Halfway between the pointer (100, 100) and the target (640, 400), and a marker at the start.
        #expect(image[Point(x: 370, y: 250)] == red, "the arrow's shaft")
        #expect(image[Point(x: 100, y: 100 + 14)] == red, "the start is marked where the pointer was")
    }

    @Test func typingIsFastHasProgressALimitAndRefusesBadUTF8() throws {
        let output = temporary("typed").appendingPathExtension("txt")
        defer { try? FileManager.default.removeItem(at: output) }
        let seed = UInt64.random(in: 0...UInt64.max)
        print("typing test seed: \(seed)")
        var state = seed
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"()[]{}-_=+/\\@#$%^&*~`<>|éüßñ世界🙂")
        let text = String((0..<1999).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 // Knuth's MMIX LCG; the high bits are the good ones
            return alphabet[Int(state >> 33) % alphabet.count]
        }) + "\n"
        try withVirtualDisplay { virtual in
            let terminal = try launchCatInXterm(on: virtual, writingTo: output)
            #expect(try qwenAgent(["move", "100", "100"], display: virtual.name).status == 0)

            let tooLong = try qwenAgent(["type", String(repeating: "a", count: InputController.maxTypedCharacters + 1)], display: virtual.name)
            #expect(tooLong.status == 65 && tooLong.stderr.contains("at most \(InputController.maxTypedCharacters)"), "\(tooLong.stderr)")
            let notUTF8 = try qwenAgent(["type", "-"], display: virtual.name, stdin: Data([0x61, 0x62, 0xFF, 0x63]))
            #expect(notUTF8.status == 65)
            #expect(notUTF8.stderr == "qwen-agent: standard input is not valid UTF-8 (byte 2: 0xFF); qwen-agent types UTF-8 text only\n")

            let started = ContinuousClock.now
            let typed = try qwenAgent(["type", "--", text], display: virtual.name)
            let elapsed = ContinuousClock.now - started
            #expect(typed.status == 0, "\(typed.stderr)")
            // 4 ms between keystrokes alone took 8 s for 2,000 characters; 1 ms leaves room on a busy machine.
            #expect(elapsed < .seconds(7), "typing 2,000 characters took \(elapsed)")
            #expect(typed.stderr.hasSuffix("qwen-agent: typed 2000 of 2000 characters\n"), "\(typed.stderr)")
            #expect(try qwenAgent(["key", "ctrl+d"], display: virtual.name).status == 0)
            #expect(terminal.wait(timeout: 15) == 0, "xterm exits when cat reaches the end of its input")
        }
        // Exactly the text: nothing of the refused attempts arrived.
        #expect(try Data(contentsOf: output) == Data(text.utf8))
    }

    @Test func theAgentsTypeActionHasTheSameLimit() throws {
        let transcript = temporary("long-type").appendingPathExtension("txt")
        defer { try? FileManager.default.removeItem(at: transcript) }
        let tooLong = String(repeating: "a", count: InputController.maxTypedCharacters + 1)
        try Data(thinkingReply("Type all of it.", "{\"action\": \"type\", \"text\": \"\(tooLong)\"}").utf8).write(to: transcript)
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let run = try qwenAgent(["type a lot", "--transcript", transcript.path, "--session", temporary("long-type").path], display: virtual.name)
            #expect(run.status == 4, "\(run.stderr)")
            #expect(run.stdout.contains("at most \(InputController.maxTypedCharacters) are typed at a time"))
            usleep(200_000)
            #expect(!app.events().contains { $0.event.hasPrefix("key") }, "nothing was typed")
        }
    }

    @Test func healedClicksOnAnOffsetMonitorLandWhereTheModelPointed() throws {
        let folder = temporary("heal-offset")
        defer { try? FileManager.default.removeItem(at: folder) }
        let size = Size(width: 1600, height: 800)
        /// A point of the 800x800 RIGHT monitor (x from 800) on the 0–1000 grid of its screenshot.
        func onRight(_ point: Point) -> String {
            "[\(Int((Double(point.x - 800) + 0.5) * 1000 / 800)), \(Int((Double(point.y) + 0.5) * 1000 / 800))]"
        }
        func withTwoMonitors(_ body: (VirtualDisplay) throws -> Void) throws {
            try withVirtualDisplay(size: size) { virtual in
                let xrandr = try #require(VirtualDisplay.findExecutable("xrandr"))
                #expect(try virtual.launch(xrandr, arguments: ["--setmonitor", "LEFT", "800/200x800/200+0+0", "none"]).wait(timeout: 10) == 0)
                #expect(try virtual.launch(xrandr, arguments: ["--setmonitor", "RIGHT", "800/200x800/200+800+0", "none"]).wait(timeout: 10) == 0)
                try body(virtual)
            }
        }
        let recording = folder.appendingPathExtension("record.txt"), healing = folder.appendingPathExtension("heal.txt")
        defer {
            try? FileManager.default.removeItem(at: recording)
            try? FileManager.default.removeItem(at: healing)
        }
        try withTwoMonitors { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 820, y: 60))
            try Data([thinkingReply("Press OK.", "{\"action\": \"left_click\", \"coordinate\": \(onRight(app.widget("ok").rect.center))}"),
                      thinkingReply("Done.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
                .joined(separator: "\n---8<---\n").utf8).write(to: recording)
            let run = try qwenAgent(["press OK", "--transcript", recording.path, "--monitor", "RIGHT", "--session", folder.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(app.events().contains { $0.event == "clicked" && $0.widget == "ok" })
        }
        try withTwoMonitors { virtual in
            // The app moved: the recorded point misses, so the model re-grounds the click on RIGHT's screenshot.
            let app = try FixtureApp(on: virtual, origin: Point(x: 900, y: 300))
            let ok = app.widget("ok").rect.center
            try Data([thinkingReply("OK is lower now.", "{\"action\": \"left_click\", \"coordinate\": \(onRight(ok))}"),
                      thinkingReply("Done.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
                .joined(separator: "\n---8<---\n").utf8).write(to: healing)
            let run = try qwenAgent(["replay", folder.path, "--monitor", "RIGHT", "--heal", "--transcript", healing.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let press = try #require(try app.waitForEvents { $0.contains { $0.event == "button_press" } }.first { $0.event == "button_press" })
            #expect(press.widget == "ok" && abs((press.rootX ?? 0) - ok.x) <= 1 && abs((press.rootY ?? 0) - ok.y) <= 1, "\(press.summary)")
        }
    }
}
