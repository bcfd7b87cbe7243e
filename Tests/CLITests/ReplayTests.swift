import Agent
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
            #expect(!app.events().contains { $0.event == "button_press" }, "a dry run sends nothing")

            let run = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("similarity 1.000"))
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
            #expect(image.size == Size(width: 1280 * 2 + 8, height: 800))
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
        try Data([thinkingReply("The avatar is now at the top, left of centre.", "{\"action\": \"left_click\", \"coordinate\": [558, 93]}"),
                  thinkingReply("The menu is open; Log out is below the avatar.", "{\"action\": \"left_click\", \"coordinate\": [523, 180]}"),
                  thinkingReply("Signed out.", "{\"action\": \"terminate\", \"status\": \"success\"}")]
            .joined(separator: "\n---8<---\n").utf8).write(to: transcript)
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 50),
                                     extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let blind = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(blind.status == 1, "without --heal a changed screen stops the replay")
            let run = try qwenAgent(["replay", folder.path, "--heal", "--transcript", transcript.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("re-grounded as left_click at (714, 74)"))
            #expect(run.stdout.contains("3 re-grounded by the model"))
            #expect(try app.waitForEvents { $0.contains { $0.event == "logged_out" } }.contains { $0.event == "clicked" && $0.widget == "avatar" })
        }
    }
}
