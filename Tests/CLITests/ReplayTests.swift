import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("qwen-agent replay: re-runs a session without a model, checking the screen first")
struct ReplayTests {
    /// Records the log-out run into `folder`, on its own display.
    func record(into folder: URL) throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let run = try qwenAgent(["log out of the app", "--transcript",
                                     SessionTests.transcripts.appendingPathComponent("log-out.txt").path, "--session", folder.path],
                                    display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)")
            #expect(app.events().contains { $0.event == "logged_out" }, "the recording really logged out")
        }
    }

    @Test func replayReproducesTheRecordedEndState() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try record(into: folder)
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let dry = try qwenAgent(["replay", folder.path, "--dry-run"], display: virtual.name)
            #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
            // Two clicks and a terminate: only the first click can be checked when nothing is sent.
            #expect(dry.stdout.hasSuffix("dry run: 1 of 3 step(s) checked, nothing sent\n"), "\(dry.stdout)")
            #expect(!app.events().contains { $0.event == "button_press" }, "a dry run sends nothing")

            let run = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("step 1: left_click at (934, 224)   similarity 1.000 near the target"))
            #expect(run.stdout.contains("step 3: terminate success   (nothing to send, so nothing to check)"))
            #expect(run.stdout.contains("✔ replayed 3 step(s): 2 checked and sent, 1 with nothing to send; "
                + "final screen similarity 1.000 to the recording's last frame"), "\(run.stdout)")
            let events = try app.waitForEvents { $0.contains { $0.event == "logged_out" } }
            #expect(events.contains { $0.event == "clicked" && $0.widget == "avatar" })
            #expect(events.last { $0.event == "screen" }?.name == "login")
        }
    }

    @Test func aChangedScreenStopsTheReplayWithAPicture() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mismatch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try record(into: folder)
        try withVirtualDisplay { virtual in
            // The app is on its sign-in screen, not signed in: the recorded first step no longer fits.
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200), extraArguments: ["--scenario", "login"])
            let run = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(run.status == 1, "\(run.stdout)")
            #expect(run.stdout.contains("step 1: the screen does not match the recording"))
            let picture = folder.appendingPathComponent("replay-mismatch-step-1.png")
            let image = try PNG.read(from: picture)
            #expect(image.size == Size(width: 1280 * 2 + 8, height: 28 + 800), "labelled recorded and live above the screens")
            usleep(200_000)
            #expect(!app.events().contains { $0.event == "button_press" }, "nothing was clicked")
        }
    }

    @Test func healAsksTheModelToReGroundStepsOnAChangedScreen() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try record(into: folder)
        // The app now sits elsewhere on the screen: every recorded point misses, so each step is re-grounded.
        let transcript = folder.appendingPathExtension("txt")
        defer { try? FileManager.default.removeItem(at: transcript) }
        // The terminate step sends nothing, so it is never re-grounded: two replies are all the model gives.
        try Data([thinkingReply("The avatar is now at the top, left of centre.", "{\"action\": \"left_click\", \"coordinate\": [558, 93]}"),
                  thinkingReply("The menu is open; Log out is below the avatar.", "{\"action\": \"left_click\", \"coordinate\": [523, 180]}")]
            .joined(separator: "\n---8<---\n").utf8).write(to: transcript)
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 50),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let blind = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(blind.status == 1, "without --heal a changed screen stops the replay")
            let run = try qwenAgent(["replay", folder.path, "--heal", "--transcript", transcript.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("re-grounded as left_click at (714, 74)"))
            #expect(run.stdout.contains("2 checked and sent (2 re-grounded by the model), 1 with nothing to send"), "\(run.stdout)")
            #expect(!run.stdout.contains("step 3: the screen changed"), "the terminate step is not re-grounded")
            #expect(try app.waitForEvents { $0.contains { $0.event == "logged_out" } }.contains { $0.event == "clicked" && $0.widget == "avatar" })
        }
    }

    /// Records a run that types "hello" into the fixture's field, on its own display.
    func recordTyping(into folder: URL) throws {
        let transcript = folder.appendingPathExtension("txt")
        defer { try? FileManager.default.removeItem(at: transcript) }
        try Data([thinkingReply("The field has the focus; type the word.", "{\"action\": \"type\", \"text\": \"hello\"}"),
                  thinkingReply("The word is in the field.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
            .joined(separator: "\n---8<---\n").utf8).write(to: transcript)
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let run = try qwenAgent(["type hello", "--transcript", transcript.path, "--session", folder.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(app.fieldValue() == "hello")
        }
    }

    @Test func typingIsNotReplayedIntoAFieldThatHoldsOtherText() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("typing-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try recordTyping(into: folder)
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            try InputController(display: try Display(name: virtual.name, logger: testLogger)).type("world")
            try app.waitForEvents { _ in app.fieldValue() == "world" }
            // Five letters in a 1280x800 screen: the whole screen is still 99.9 % the same, but not where "hello" appeared.
            let run = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("where the recording changed the screen"), "\(run.stdout)")
            #expect(run.stdout.contains("✘ step 1: the screen does not match the recording"))
            usleep(300_000)
            #expect(app.fieldValue() == "world", "nothing was typed")
        }
    }

    @Test func aReplayThatDoesNotEndAsRecordedExitsWith2() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("final-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try recordTyping(into: folder)
        try withVirtualDisplay { virtual in
            // The window looks the same but does not have the keyboard (the pointer is over the empty
            // root window): the typing step matches and is sent, and the text goes nowhere.
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80), focus: false)
            try InputController(display: try Display(name: virtual.name, logger: testLogger)).move(to: Point(x: 5, y: 5))
            let run = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("step 1: type \"hello\"   similarity 1.000 where the recording changed the screen"), "\(run.stdout)")
            #expect(run.stdout.contains("✘ 1 step(s) sent, but the final screen does not match the recording's last frame"))
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("replay-mismatch-final.png").path))
            #expect(app.fieldValue() == nil)
        }
    }
}
