import AgentCore
import Foundation
import Imaging
import Models
import TestSupportCore
import Testing

/// The HTML report of `qwen-agent show`, read the way a person reads the page: its visible text, its
/// captions and its pictures.
@Suite("show: the session report says what happened, once, and shows it large enough to read")
struct SessionReportTests {
    static let sessions = Repository.fixtures.appendingPathComponent("Sessions")

    func report(_ name: String) throws -> SessionReport {
        SessionReport(try SessionLog.read(Self.sessions.appendingPathComponent(name)))
    }

    /// The page's text as a browser shows it: no markup, style or script, entities decoded, spaces collapsed.
    func visibleText(_ html: String) -> String {
        var text = html
        for pattern in ["<style>[\\s\\S]*?</style>", "<script>[\\s\\S]*?</script>", "<[^>]*>"] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        for (entity, character) in [("&quot;", "\""), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Step `number`'s part of the page.
    func section(_ html: String, step number: Int) throws -> String {
        let start = try #require(html.range(of: "<div class=\"step card\" id=\"step-\(number)\">"))
        let end = html.range(of: "<div class=\"step card\"", range: start.upperBound..<html.endIndex)?.lowerBound ?? html.endIndex
        return String(html[start.lowerBound..<end])
    }

    /// The embedded pictures of `html`, in order, with their captions.
    func pictures(_ html: String) throws -> [(caption: String, image: RGBImage)] {
        let pattern = try Regex("<img src=\"data:image/png;base64,([^\"]+)\" alt=\"([^\"]+)\">")
        return try html.matches(of: pattern).map { match in
            let data = try #require(Data(base64Encoded: String(match.output[1].substring ?? "")))
            return (String(match.output[2].substring ?? ""), try PNG.decode(data))
        }
    }

    @Test func theOutcomeIsSaidOnce() throws {
        let text = visibleText(try report("v1-agent-run").html)
        #expect(text.contains("type the password and log out success scripted replies from /tmp/v1.txt"), "\(text.prefix(300))")
        #expect(!text.contains("success success"))
        #expect(visibleText(try report("v1-demonstration").html).contains("success demonstration of 3 step(s)"))
    }

    @Test func aDemonstrationShowsAPersonsStepsWithoutModelTraces() throws {
        let html = try report("v1-demonstration").html
        let text = visibleText(html)
        #expect(text.contains("demonstration recorded from a person's input"))
        for trace in ["model ?", "profile none", "model human"] { #expect(!text.contains(trace), "\(trace)") }
        #expect(!html.contains("<pre></pre>"), "no empty box where a model's reply would be")
        // The typed step has no target: its frames outline where the text appeared, and the screen
        // changed without any "target" to be near.
        let typing = try section(html, step: 2)
        #expect(visibleText(typing).contains("type \"Grüße\" verification the screen changed (68 pixels)"), "\(visibleText(typing))")
        #expect(!typing.contains("target"))
        #expect(typing.contains("<figcaption>before (outlined: where the step changed the screen)</figcaption>"))
        #expect(try section(html, step: 1).contains("<figcaption>before (the target marked)</figcaption>"))
    }

    @Test func aStepWithNothingMarkedIsNotCaptionedAsMarked() throws {
        let first = try section(try report("v1-agent-run").html, step: 1)
        #expect(first.contains("<figcaption>before</figcaption>"))
        #expect(!first.contains("marked"))
    }

    @Test func whereAStepActedIsShownZoomedIn() throws {
        let html = try report("v1-agent-run").html
        let click = try pictures(try section(html, step: 2))
        let before = try PNG.read(from: Self.sessions.appendingPathComponent("v1-agent-run/frames/step-0002-before.png"))
        // Around the target (419, 196): 272x136 pixels, shown twice as large.
        #expect(click.map(\.caption) == ["before (the target marked)", "after", "before, zoomed in", "after, zoomed in"])
        let zoom = click[2].image
        #expect(zoom.size == Size(width: 272, height: 136))
        // A thin square around the target, which itself stays as it was so a label there can be read.
        #expect(zoom[0, 0] == before[419 - 136, 196 - 68] && zoom[136, 68] == before[419, 196])
        #expect(zoom[136 - 9, 68] == RGB(hex: 0xE0301E) && zoom[136 + 9, 68] == RGB(hex: 0xE0301E))
        #expect(click[3].image.size == zoom.size)
        // Typing has no target: the zoom holds the box where the text appeared, outlined.
        let typing = try pictures(try section(html, step: 3))
        #expect(typing.map(\.caption) == ["before (outlined: where the step changed the screen)", "after", "before, zoomed in", "after, zoomed in"])
        #expect(html.contains(".zoom img{width:100%"))
    }

    @Test func missingAndBrokenFramesArePlaceholdersWithWarnings() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Self.sessions.appendingPathComponent("v1-agent-run"), to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("frames/step-0003-after.png"))
        try Data("not a picture".utf8).write(to: folder.appendingPathComponent("frames/step-0002-before.png"))

        let report = SessionReport(try SessionLog.read(folder))
        #expect(report.warnings == [
            "step 2: frame frames/step-0002-before.png is not a readable PNG (invalid PNG); the report shows a placeholder",
            "step 3: frame frames/step-0003-after.png is missing; the report shows a placeholder",
        ])
        #expect(report.html.components(separatedBy: "<div class=\"step card\"").count == 6, "every step is still there")
        #expect(report.html.components(separatedBy: "<div class=\"missing\">").count == 3)
        #expect(try section(report.html, step: 2).contains("<div class=\"missing\">frames/step-0002-before.png cannot be shown</div>"))
        #expect(visibleText(report.html).contains("⚠ step 3: frame frames/step-0003-after.png is missing"))
        #expect(try pictures(try section(report.html, step: 4)).count == 4, "the other steps keep their pictures")
    }

    @Test func eachStepSaysWhichModelAnsweredAndWhatTheCallCost() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("routed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let recorder = try SessionRecorder(directory: folder, header: SessionHeader(
            task: "log out", profile: "auto", model: RecordedModel(kind: "served", name: "qwen3-vl-8b @ http://gpu:8000/v1"), display: ":1",
            area: Rect(x: 0, y: 0, width: 64, height: 40), coordinateSpace: .relative1000, shape: .thinking))
        let before = try recorder.writeFrame(RGBImage(width: 64, height: 40, fill: RGB(hex: 0x808080)), name: "step-0001-before")
        var step = StepRecord(step: 1, frames: .init(before: before), output: "Log out is top right.\n</think>\n\nAction: Click it.",
                              status: "ok", plan: PlanRecord(status: "ok", actions: []), performed: [])
        step.route = RouteRecord(model: "thinking", reason: "the task's first step needs a plan")
        step.modelCall = ModelCall(promptTokens: 1200, reusedTokens: 1000, completionTokens: 85, images: 1, encodedImages: 1)
        try recorder.append(step)

        let html = SessionReport(try SessionLog.read(folder)).html
        #expect(html.contains("<h2><span class=\"number\">Step 1</span> no action <span class=\"chip thinking\">thinking</span>"
            + "<span class=\"why\">the task's first step needs a plan</span></h2>"))
        let text = visibleText(html)
        #expect(text.contains("model call 1200 prompt tokens, 1000 of them from the previous step; 85 reply tokens; 1 of 1 screenshot read"), "\(text)")
        #expect(text.contains("1 model call(s): 1200 prompt tokens, 85 reply tokens"))
        #expect(text.contains("model qwen3-vl-8b @ http://gpu:8000/v1 (served) · profile auto"))
    }

    @Test func thePageIsSelfContainedAndScreenshotsEnlargeOnClick() throws {
        let html = try report("v1-agent-run").html
        for external in ["src=\"http", "href=\"http", "<link", "<script src"] { #expect(!html.contains(external), "\(external)") }
        #expect(html.contains("<div id=\"lightbox\" hidden"))
        #expect(html.contains("e.target.matches(\"figure img\")"))
        #expect(try pictures(html).count == 3 * 4 + 2, "three steps with before, after and their zooms; the first and last with a before only")
    }
}
