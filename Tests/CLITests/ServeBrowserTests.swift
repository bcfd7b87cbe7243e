import Desktop
import Foundation
import Imaging
import TestSupport
import TestSupportCore
import Testing

/// The page of `qwen-agent serve` in a real headless Chromium (selenium), on Xvfb with the fixture app.
@Suite("qwen-agent serve: the web page in a real browser")
struct ServeBrowserTests {
    /// Page screenshots of each point of the test, kept after it for people to look at.
    static let artifacts = Repository.root.appendingPathComponent(".build/serve-artifacts")

    @Test func aPersonRunsApprovesAbortsReadsASessionAndChats() throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200), extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let transcript = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt").path
            let server = try ServeProcess(["--transcript", transcript, "--display", virtual.name])
            let image = Repository.fixtures.appendingPathComponent("Golden/processor/image-0.png").path
            let browser = try runClient("browser.py", [server.base, Self.artifacts.path, image], timeout: 300)
            #expect(browser.status == 0, "\(browser.stderr.suffix(3000))\n\(server.stderr.suffix(2000))")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(browser.stdout.utf8)) as? [String: Any], "\(browser.stdout)")

            #expect((result["status"] as? String)?.contains("log-out.txt (scripted)") == true, "\(result)")
            let run = try #require(result["run"] as? [String: Any])
            #expect((run["outcome"] as? String)?.hasPrefix("✔ success") == true, "\(run)")
            #expect(run["reasoning_before_outcome"] as? Bool == true, "\(run)")
            #expect(app.events().contains { $0.event == "logged_out" }, "the run's clicks reached the app")
            #expect(run["screenshots"] as? Int ?? 0 >= 3, "the screenshot changed with each step: \(run)")
            #expect((run["reasoning"] as? String)?.contains("avatar") == true)
            #expect((result["approval_asked"] as? String)?.hasPrefix("left_click at") == true, "\(result)")
            #expect((result["aborted"] as? String)?.contains("aborted by the user") == true, "\(result)")
            #expect((result["sessions"] as? [String])?.count == 2, "\(result)")
            #expect((result["report_title"] as? String)?.contains("log out of the app") == true, "\(result)")
            let chat = try #require(result["chat"] as? [String: Any])
            #expect(chat["error"] as? Bool == false && (chat["answer"] as? String)?.hasPrefix("Action: Click the avatar") == true, "\(chat)")
            #expect(chat["reasoning_folded"] as? Bool == true && (chat["reasoning"] as? String)?.contains("The user wants to log out") == true, "\(chat)")
            for name in ["agent-run", "agent-approval", "agent-aborted", "sessions", "chat"] {
                #expect(FileManager.default.fileExists(atPath: Self.artifacts.appendingPathComponent("\(name).png").path), "\(name).png saved")
            }
            #expect(server.stop() == 0)
        }
    }
}
