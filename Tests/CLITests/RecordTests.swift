import Agent
import AgentCore
import Desktop
import Keys
import Foundation
import Imaging
import TestSupport
import Testing

@Suite("qwen-agent record: a person's input becomes a replayable session")
struct RecordTests {
    @Test func aDemonstrationIsGroupedIntoStepsAndReplaysToTheSameEndState() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var recordedEnd: (field: String?, clicks: [String]) = (nil, [])
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let output = folder.appendingPathExtension("out")
            let fd = open(output.path, O_WRONLY | O_CREAT, 0o600)
            defer { try? FileManager.default.removeItem(at: output) }
            let recorder = try virtual.launch(TestProducts.url(of: "qwen-agent"), arguments: ["record", folder.path, "--duration", "30"],
                                              stdout: .descriptor(fd), stderr: .descriptor(fd))
            close(fd)
            try waitUntil("the recorder is running") { (try? String(contentsOf: output, encoding: .utf8))?.contains("recording on") == true }
            // The "person": real input events from another client, as a keyboard and mouse would send them.
            let display = try Display(name: virtual.name, logger: testLogger)
            let hand = try InputController(display: display)
            try hand.click(at: app.widget("field").rect.center)
            usleep(600_000)
            try hand.type("Grüße 世界")
            usleep(1_300_000)
            try hand.click(at: app.widget("ok").rect.center, count: 2)
            usleep(700_000)
            try hand.press(KeyChord(parsing: "ctrl+alt+Escape")) // the stop chord
            #expect(recorder.wait(timeout: 20) == 0, "\((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
            recordedEnd = (app.fieldValue(), app.events().filter { $0.event == "clicked" }.compactMap(\.widget))
        }
        let session = try SessionLog.read(folder)
        #expect(session.header.model.kind == "human")
        let steps = session.steps.compactMap(\.plan.actions.first)
        #expect(steps.map(\.action) == ["left_click", "type", "double_click"])
        #expect(steps[1].text == "Grüße 世界")
        #expect(session.outcome?.outcome == "success")
        let report = folder.appendingPathComponent("report.html")
        let show = try qwenAgent(["show", folder.path, "-o", report.path], display: nil)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(try String(contentsOf: report, encoding: .utf8).contains("type &quot;Grüße 世界&quot;"))

        // Played back on a fresh display, the app ends in the same state.
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 100, y: 80))
            try app.waitForEvents { $0.contains { $0.event == "focus_in" } }
            let replay = try qwenAgent(["replay", folder.path], display: virtual.name)
            #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
            try app.waitForEvents { _ in app.fieldValue() == "Grüße 世界" }
            #expect(app.fieldValue() == recordedEnd.field)
            let clicks = try app.waitForEvents { $0.filter { $0.event == "clicked" }.count == recordedEnd.clicks.count }
            #expect(clicks.filter { $0.event == "clicked" }.compactMap(\.widget) == recordedEnd.clicks)
        }
    }
}
