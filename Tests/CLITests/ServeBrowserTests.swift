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
            let dryRun = try #require(result["dry_run"] as? String, "\(result)")
            #expect(dryRun.contains("step 1: left_click at") && dryRun.contains("similarity"), "the steps it would take: \(dryRun)")
            #expect(dryRun.contains("step(s) checked, nothing sent") || dryRun.contains("a replay would stop there"), "\(dryRun)")
            let chat = try #require(result["chat"] as? [String: Any])
            #expect(chat["error"] as? Bool == false && (chat["answer"] as? String)?.hasPrefix("Action: Click the avatar") == true, "\(chat)")
            #expect(chat["reasoning_folded"] as? Bool == true && (chat["reasoning"] as? String)?.contains("The user wants to log out") == true, "\(chat)")
            // The transcript is one (Thinking) model: Instruct is offered disabled, with how to load one.
            let modes = (result["mode_options"] as? [[String: Any]] ?? []).map { "\($0["value"] as? String ?? "") \($0["disabled"] as? Bool == true ? "disabled" : "enabled")" }
            #expect(modes == ["thinking enabled", "instruct disabled"], "\(result)")
            #expect((result["mode_hint"] as? String)?.hasPrefix("Instruct is not loaded: start serve with --model DIR") == true, "\(result)")
            for name in ["agent-run", "agent-approval", "agent-aborted", "sessions", "chat"] {
                #expect(FileManager.default.fileExists(atPath: Self.artifacts.appendingPathComponent("\(name).png").path), "\(name).png saved")
            }
            #expect(server.stop() == 0)
        }
    }

    /// Two models: the Mode switch says which each variant is, the second loads when first asked for,
    /// and switching changes which model answers (the reply names it; only Thinking shows reasoning).
    @Test func theChatModeSwitchPicksTheModelOfThatVariant() throws {
        let instruct = try instructCheckpoint()
        defer { try? FileManager.default.removeItem(at: instruct) }
        let server = try ServeProcess(["--model", instruct.path, "--thinking-model", ServeOpenAITests.model, "--tokenizer", ServeOpenAITests.tokenizer])
        let models = try curl(server.base + "/v1/models").json?["data"] as? [[String: Any]] ?? []
        #expect(models.map { "\($0["id"] ?? "") \($0["variant"] ?? "")" } == ["\(instruct.lastPathComponent) instruct", "tiny-tied thinking"], "\(models)")
        let browser = try runClient("chat_models.py", [server.base, Self.artifacts.path], timeout: 400)
        #expect(browser.status == 0, "\(browser.stderr.suffix(3000))\n\(server.stderr.suffix(2000))")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(browser.stdout.utf8)) as? [String: Any], "\(browser.stdout)")
        let before = try #require(result["before"] as? [[String: Any]])
        #expect(before.map { $0["text"] as? String ?? "" } == ["Thinking · tiny-tied (loads when first asked)", "Instruct · \(instruct.lastPathComponent)"], "\(before)")
        #expect(before.allSatisfy { $0["disabled"] as? Bool == false } && result["hint_shown"] as? Bool == false, "\(result)")
        let thinking = try #require(result["thinking"] as? [String: Any]), instructReply = try #require(result["instruct"] as? [String: Any])
        #expect(thinking["model"] as? String == "tiny-tied" && thinking["error"] is NSNull && thinking["reasoning_shown"] as? Bool == true, "\(thinking)")
        #expect(instructReply["model"] as? String == instruct.lastPathComponent && instructReply["error"] is NSNull
                && instructReply["reasoning_shown"] as? Bool == false, "\(instructReply)")
        #expect((result["after"] as? [[String: Any]])?.first?["text"] as? String == "Thinking · tiny-tied", "loaded now: \(result)")
        #expect((result["status"] as? String)?.contains(#/KV cache \d+\.\d MB/#) == true, "\(result)")
        #expect(server.stop() == 0)
    }

    /// The tiny checkpoint's weights with the official Instruct template: an Instruct model for the switch.
    private func instructCheckpoint() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-instruct-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let weights = Repository.fixtures.appendingPathComponent("Golden/tiny-untied")
        for name in ["config.json", "generation_config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name), withDestinationURL: weights.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Qwen3VLChatTemplates/Qwen3-VL-4B-Instruct/chat_template.json"),
                                         to: folder.appendingPathComponent("chat_template.json"))
        return folder
    }
}
