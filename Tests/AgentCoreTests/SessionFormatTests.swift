import AgentCore
import Foundation
import Imaging
import TestSupportCore
import Testing

/// Sessions written by qwen-agent before the records became types (commit a66ec0d) still read.
@Suite("Session format version 1: files from before the typed records")
struct SessionFormatTests {
    static let folder = Repository.fixtures.appendingPathComponent("Sessions")

    /// `session.jsonl`'s bytes from memory (what the fuzz target reads) give the log the folder gives.
    @Test(arguments: ["v1-agent-run", "v1-demonstration"])
    func bytesInMemoryReadLikeTheFolder(name: String) throws {
        let session = Self.folder.appendingPathComponent(name)
        let fromFolder = try SessionLog.read(session)
        let fromMemory = try SessionLog.read(Data(contentsOf: session.appendingPathComponent("session.jsonl")), directory: session)
        #expect(fromMemory.warnings == fromFolder.warnings && fromMemory.steps.count == fromFolder.steps.count)
        #expect(SessionReport(fromMemory).html == SessionReport(fromFolder).html)
    }

    @Test func anAgentRunReads() throws {
        let log = try SessionLog.read(Self.folder.appendingPathComponent("v1-agent-run"))
        #expect(log.warnings.isEmpty, "\(log.warnings)")
        #expect(log.header.task == "type the password and log out" && log.header.model.kind == "scripted")
        #expect(log.header.area.rect == Rect(x: 0, y: 0, width: 1280, height: 800) && log.header.coordinateSpace == .relative1000)
        #expect(log.header.shape == .thinking)
        #expect(log.steps.map(\.status) == ["no_action", "ok", "ok", "ok", "ok"])
        #expect(log.steps[0].plan.reason?.hasPrefix("no tool call") == true)
        let click = try #require(log.steps[1].performed.first?.point)
        #expect(click.model == [328, 245] && click.image == [419, 196] && click.screen == [419, 196])
        #expect(log.steps[1].inputEvents?.map(\.kind) == ["motion", "button_down", "button_up"])
        #expect(log.steps[2].performed.first?.text == "••••••", "the secret stayed masked")
        #expect(log.steps[4].plan.actions.first?.terminateStatus == "success")
        #expect(log.outcome?.outcome == "success")
        for step in log.steps {
            #expect((try? PNG.read(from: log.directory.appendingPathComponent(step.frames.before))) != nil)
        }
    }

    @Test func aHumanDemonstrationReads() throws {
        let log = try SessionLog.read(Self.folder.appendingPathComponent("v1-demonstration"))
        #expect(log.warnings.isEmpty, "\(log.warnings)")
        #expect(log.header.model == .human && log.header.profile == "none")
        #expect(log.header.coordinateSpace == .imagePixels && log.header.shape == .instruct)
        #expect(log.steps.map { $0.plan.actions.first?.action } == ["left_click", "type", "double_click"])
        #expect(log.steps[1].plan.actions.first?.text == "Grüße")
        #expect(log.steps[0].performed.first?.point?.model == nil && log.steps[0].performed.first?.point?.screen == [420, 196])
        #expect(log.outcome?.outcome == "success")
    }

    @Test func bothMakeAReport() throws {
        for name in ["v1-agent-run", "v1-demonstration"] {
            let html = SessionReport(try SessionLog.read(Self.folder.appendingPathComponent(name))).html
            #expect(html.components(separatedBy: "<div class=\"step card\"").count > 3, "\(name)")
        }
    }

    @Test func aRecordWrittenNowReadsBackTheSame() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let header = SessionHeader(task: "t", profile: "desktop-thinking", model: RecordedModel(kind: "served", name: "m @ url"), display: ":1",
                                   area: Rect(x: 10, y: 20, width: 30, height: 40), coordinateSpace: .resizedPixels(Size(width: 1288, height: 728)), shape: .thinking)
        let recorder = try SessionRecorder(directory: folder, secrets: ["pa\"ss"], header: header)
        var step = StepRecord(step: 1, frames: .init(before: "frames/a.png", after: "frames/b.png"), output: "typed pa\"ss and pa\"ssword",
                              status: "ok", plan: PlanRecord(status: "ok", source: "tool_calls", actions: [.init(action: "type")]), performed: [])
        step.route = RouteRecord(model: "thinking", reason: "the task's first step needs a plan")
        try recorder.append(step)
        try recorder.append(OutcomeRecord(.success(answer: nil), seconds: 1.25))
        let log = try SessionLog.read(folder)
        #expect(log.header == header)
        #expect(log.steps.first?.output == "typed •••••• and ••••••word", "secrets masked in values, JSON escapes and all")
        #expect(log.steps.first?.route == step.route)
        #expect(log.outcome == OutcomeRecord(outcome: "success", detail: "success", seconds: 1.3))
        let text = try String(contentsOf: folder.appendingPathComponent("session.jsonl"), encoding: .utf8)
        #expect(text.contains("\"route\":{\"model\":\"thinking\"") && !text.contains("pa\\\"ss"))
        #expect(text.contains("\"coordinate_space\":\"resized:1288x728\"") && text.contains("\"shape\":\"thinking\""), "the spellings version 1 writes")
    }

    /// A hostile session must not make `show` or `replay` read files outside its own folder.
    @Test(arguments: ["../../elsewhere.png", "/etc/passwd", "frames/../../x.png", "frames/.hidden.png", "frames/sub/x.png", "frames/"])
    func aFramePathOutsideTheFramesFolderIgnoresTheStep(path: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("frames-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("v1-agent-run"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = folder.appendingPathComponent("session.jsonl")
        var lines = try String(contentsOf: log, encoding: .utf8).components(separatedBy: "\n")
        var step = try #require(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        step["frames"] = ["before": "frames/step-0002-before.png", "after": path]
        lines[2] = String(decoding: try JSONSerialization.data(withJSONObject: step), as: UTF8.self)
        try lines.joined(separator: "\n").write(to: log, atomically: true, encoding: .utf8)
        let read = try SessionLog.read(folder)
        #expect(read.steps.map(\.step) == [1, 3, 4, 5], "the step naming \(path) is left out")
        #expect(read.warnings.count == 1 && read.warnings[0].contains("frames.after") && read.warnings[0].contains("not a file in the session's frames folder"),
                "\(read.warnings)")
    }

    /// A header whose coordinate space or shape no version-1 writer produces is an error that names the field.
    @Test(arguments: [("coordinate_space", "sideways"), ("shape", "chatty")])
    func anUnknownSpaceOrShapeIsAnErrorNamingIt(field: String, value: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("header-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("v1-agent-run"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = folder.appendingPathComponent("session.jsonl")
        var lines = try String(contentsOf: log, encoding: .utf8).components(separatedBy: "\n")
        var header = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        header[field] = value
        lines[0] = String(decoding: try JSONSerialization.data(withJSONObject: header), as: UTF8.self)
        try lines.joined(separator: "\n").write(to: log, atomically: true, encoding: .utf8)
        let error = #expect(throws: SessionError.self) { try SessionLog.read(folder) }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains("'\(field)'") == true, "\(error?.message ?? "")")
    }
}
