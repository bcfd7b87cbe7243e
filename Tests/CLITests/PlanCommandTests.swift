import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("qwen-agent plan: thinks and shows, touches nothing")
struct PlanCommandTests {
    @Test func planMarksTheTargetAndSendsNoInput() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let logout = app.widget("logout").rect.center
            // The Log out button's centre on the 0–1000 grid of the 1280x800 screen.
            let x = Int((Double(logout.x) + 0.5) * 1000 / 1280), y = Int((Double(logout.y) + 0.5) * 1000 / 800)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let transcript = folder.appendingPathComponent("transcript.txt")
            try Data("""
                The "Log out" button is at the top right of the app window.
                </think>

                Action: Click "Log out".
                <tool_call>
                {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [\(x), \(y)]}}
                </tool_call>
                ---8<---
                """.utf8).write(to: transcript)
            let picture = folder.appendingPathComponent("plan.png")
            let before = app.events().count

            let run = try qwenAgent(["plan", "log out of the app", "--transcript", transcript.path, "-o", picture.path], display: virtual.name)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("model: scripted: "), "a scripted reply is labelled as such")
            #expect(run.stdout.contains("left_click at (\(logout.x), \(logout.y))") || run.stdout.contains("left_click at (\(logout.x - 1)"),
                    "\(run.stdout)")
            let image = try PNG.read(from: picture)
            #expect(image[Point(x: logout.x, y: logout.y + 14)] == RGB(hex: 0xE0301E), "marker drawn at the target")

            usleep(200_000)
            let after = app.events().dropFirst(before)
            #expect(!after.contains { $0.event.hasPrefix("button") || $0.event.hasPrefix("key") || $0.event == "motion" },
                    "the app received no input: \(after.map(\.summary))")
        }
    }

    @Test func missingModelAndUnparsableReplyAreClearFailures() throws {
        try withVirtualDisplay { virtual in
            let none = try qwenAgent(["plan", "anything"], display: virtual.name)
            #expect(none.status == 64 && none.stderr.contains("--transcript"))
            let transcript = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).txt")
            try Data("I keep thinking and never close the reasoning".utf8).write(to: transcript)
            defer { try? FileManager.default.removeItem(at: transcript) }
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).png")
            defer { try? FileManager.default.removeItem(at: out) }
            let run = try qwenAgent(["plan", "anything", "--transcript", transcript.path, "-o", out.path], display: virtual.name)
            #expect(run.status == 65)
            #expect(run.stdout.contains("unterminated_thinking"))
        }
    }
}
