import Desktop
import Foundation
import Imaging
import TestSupport
import Testing
import TestSupportCore

@Suite("qwen-agent parse, as a user would run it")
struct ParseCommandTests {
    static let fixtures = Repository.fixtures.appendingPathComponent("ModelOutputs")

    @Test func jsonGivesScreenPixelsThroughTheCoordinateContract() throws {
        let file = Self.fixtures.appendingPathComponent("thinking-left-click.txt").path
        let run = try qwenAgent(["parse", file, "--image-size", "1920x1080", "--json"], display: nil)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "ok")
        let action = try #require((object["actions"] as? [[String: Any]])?.first)
        #expect(action["action"] as? String == "left_click")
        // (96, 318) on the 0–1000 grid of a 1920x1080 image: ⌊96·1.92⌋ = 184, ⌊318·1.08⌋ = 343.
        #expect(action["x"] as? Int == 184 && action["y"] as? Int == 343)
    }

    @Test func monitorOffsetIsAddedAndHumanOutputShowsIt() throws {
        try withVirtualDisplay(size: Size(width: 1280, height: 800)) { virtual in
            let xrandr = try #require(VirtualDisplay.findExecutable("xrandr"))
            #expect(try virtual.launch(xrandr, arguments: ["--setmonitor", "RIGHT", "640/170x800/210+640+0", "none"]).wait(timeout: 10) == 0)
            let file = Self.fixtures.appendingPathComponent("thinking-mouse-move.txt").path
            let json = try qwenAgent(["parse", file, "--monitor", "RIGHT", "--json"], display: virtual.name)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let action = try #require((object["actions"] as? [[String: Any]])?.first)
            // (500, 500) relative on a 640x800 monitor at x = 640.
            #expect(action["x"] as? Int == 640 + 320 && action["y"] as? Int == 400)
            let text = try qwenAgent(["parse", file, "--monitor", "RIGHT"], display: virtual.name)
            #expect(text.stdout.contains("mouse_move at (960, 400)"))
        }
    }

    @Test func failuresPrintTheirKindAndExit65() throws {
        let truncated = Self.fixtures.appendingPathComponent("fail-unterminated-thinking.txt").path
        let run = try qwenAgent(["parse", truncated, "--image-size", "1000x1000", "--json"], display: nil)
        #expect(run.status == 65)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "unterminated_thinking")
        #expect((object["actions"] as? [Any])?.isEmpty == true)

        let outside = try qwenAgent(["parse", Self.fixtures.appendingPathComponent("fail-out-of-range.txt").path, "--image-size", "800x600"], display: nil)
        #expect(outside.status == 65)
        #expect(outside.stdout.contains("not clamped"))
    }

    @Test func readsStandardInputAndInstructShape() throws {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("stdin-\(UUID().uuidString).txt")
        try Data("Click the OK button at (250, 500).".utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try qwenAgent(["parse", input.path, "--image-size", "1000x1000", "--shape", "instruct", "--coordinates", "pixels"], display: nil)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("left_click at (250, 500)"))
        #expect(try qwenAgent(["parse", "/nonexistent/file"], display: nil).status == 65)
        let noSize = try qwenAgent(["parse", input.path], display: nil)
        #expect(noSize.status == 64 && noSize.stderr.contains("--image-size"))
        #expect(try qwenAgent(["parse", input.path, "--coordinates", "furlongs", "--image-size", "10x10"], display: nil).status == 64)
    }

    @Test func schemaCommandPrintsTheSystemMessageTheProfileSends() throws {
        let run = try qwenAgent(["schema", "--agent", "desktop-instruct"], display: nil)
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("You are a GUI agent"))
        #expect(run.stdout.contains("\n\n# Tools\n\n") && run.stdout.contains("The screen's resolution is 1000x1000."))
        #expect(run.stderr.contains("profile desktop-instruct (") && run.stderr.contains("a 1920x1080 screen is sent as 1920x1088, 2040 image tokens"))
        // Only the tool, for a profile whose model writes pixels: the resolution is the resized screenshot's.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pixels = folder.appendingPathComponent("pixels.json")
        try Self.writeProfile(to: pixels) { $0["coordinate_space"] = "pixels" }
        let tool = try qwenAgent(["schema", "--agent", pixels.path, "--screen", "1366x768", "--tool-only"], display: nil)
        #expect(tool.status == 0, "\(tool.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(tool.stdout.utf8)) as? [String: Any])
        let description = ((object["function"] as? [String: Any])?["description"] as? String) ?? ""
        #expect(description.contains("The screen's resolution is 1376x768."))
        let embedded = try qwenAgent(["schema", "--agent", pixels.path, "--embedded", "--screen", "1920x1080"], display: nil)
        #expect(embedded.stdout.contains("The screen's resolution is 1280x704."))
        #expect(try qwenAgent(["schema", "--screen", "wide"], display: nil).status == 64)
        #expect(try qwenAgent(["schema", "--max-pixels", "0"], display: nil).status == 64)
    }

    /// Writes desktop-thinking.json, changed by `change`, to `url`.
    static func writeProfile(to url: URL, _ change: (inout [String: Any]) -> Void) throws {
        let file = Repository.agents.appendingPathComponent("desktop-thinking.json")
        var profile = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        change(&profile)
        try JSONSerialization.data(withJSONObject: profile).write(to: url)
    }
}
