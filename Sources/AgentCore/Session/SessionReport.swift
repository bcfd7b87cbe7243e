import Foundation
import Imaging
import Models

/// One self-contained HTML page for a session: a summary, then per step what was done (and which
/// model answered), the screenshots before and after with the action marked, a zoomed view of where
/// it acted, the reasoning (collapsible), the coordinates, the verification, the model call's cost and
/// the timings. Images are embedded and the little script (click a screenshot to enlarge it) is
/// inline, so the file can be mailed or attached as it is.
///
/// A frame that is missing or not a PNG does not stop the report: it is drawn as a placeholder and
/// named in ``warnings``.
public struct SessionReport {
    public let html: String
    /// The frames that could not be shown, one line each.
    public let warnings: [String]

    public init(_ session: SessionLog) {
        var frames = FrameReader(directory: session.directory)
        let steps = session.steps.map { Self.section(for: $0, frames: &frames) }.joined()
        warnings = frames.problems
        html = Self.head(title: session.header.task) + Self.summary(session, frameWarnings: frames.problems) + steps + Self.tail
    }

    // MARK: The page

    private static func head(title: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
        <title>qwen-agent session: \(escape(title))</title>
        <style>
        body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2939}
        main{max-width:1160px;margin:0 auto;padding:24px}
        h1{font-size:24px;margin:0 0 12px}
        .card{background:#fff;border:1px solid #e4e7ec;border-radius:10px;padding:14px 18px;margin-bottom:16px}
        .facts{color:#475467;margin-top:6px}
        .badge{display:inline-block;padding:1px 10px;border-radius:999px;color:#fff;font-weight:600;font-size:13px}
        .success{background:#12805c}.failure,.error{background:#c0392b}.ended{background:#b54708}.unfinished{background:#667085}
        .scripted{background:#7a5af8}.human{background:#0e7090}
        h2{font-size:17px;margin:0 0 8px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
        h2 .number{color:#667085}
        .chip{font-size:12px;font-weight:600;padding:1px 8px;border-radius:999px;background:#eef4ff;color:#3538cd}
        .chip.thinking{background:#f4ebff;color:#6941c6}
        .why{font-size:13px;color:#667085;font-weight:400}
        table{border-collapse:collapse;margin:4px 0 8px}
        td{padding:2px 14px 2px 0;vertical-align:top} td:first-child{color:#667085;white-space:nowrap}
        pre{white-space:pre-wrap;background:#f9fafb;padding:8px 10px;border:1px solid #e4e7ec;border-radius:6px;font-size:13px;margin:6px 0}
        summary{cursor:pointer;color:#475467}
        .frames{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin-top:10px}
        figure{margin:0} figcaption{font-size:13px;color:#667085;margin-top:2px}
        figure img{display:block;max-width:100%;border:1px solid #d0d5dd;border-radius:4px;cursor:zoom-in}
        .zoom img{width:100%;image-rendering:pixelated}
        .missing{display:flex;align-items:center;justify-content:center;aspect-ratio:16/10;border:1px dashed #b42318;border-radius:4px;
          background:repeating-linear-gradient(45deg,#fff,#fff 10px,#fef3f2 10px,#fef3f2 20px);color:#b42318;font-size:13px;padding:8px;text-align:center}
        .warn{color:#b42318}
        #lightbox{position:fixed;inset:0;overflow:auto;background:rgba(16,24,40,.88);cursor:zoom-out}
        #lightbox[hidden]{display:none}
        #lightbox img{display:block;margin:24px auto;max-width:none}
        </style></head><body><main>

        """
    }

    private static let tail = """
        </main>
        <div id="lightbox" hidden onclick="this.hidden=true"><img alt="the screenshot at full size"></div>
        <script>
        // Click a screenshot to see it at full size; click again or press Escape to close it.
        const lightbox = document.getElementById("lightbox");
        document.addEventListener("click", e => {
          if (e.target.matches("figure img")) { lightbox.firstElementChild.src = e.target.src; lightbox.hidden = false; }
        });
        document.addEventListener("keydown", e => { if (e.key === "Escape") lightbox.hidden = true; });
        </script>
        </body></html>

        """

    private static func summary(_ session: SessionLog, frameWarnings: [String]) -> String {
        let header = session.header
        let outcome = session.outcome?.outcome ?? "unfinished"
        let badge = switch outcome {
        case "success", "failure", "error", "unfinished": outcome
        default: "ended"
        }
        // The detail often just repeats the outcome ("success"); it is shown only when it says more.
        let detail = session.outcome.map { $0.detail == $0.outcome ? "" : $0.detail } ?? "the run ended before its outcome was written"
        let who = switch header.model.kind {
        case RecordedModel.human.kind: "<span class=\"badge human\">demonstration</span> recorded from a person's input"
        case "scripted": "<span class=\"badge scripted\">scripted</span> replies from \(escape(header.model.name)) · profile \(escape(header.profile))"
        default: "model \(escape(header.model.name)) (\(escape(([header.model.kind] + (header.model.mode.map { [$0] } ?? [])).joined(separator: ", ")))) · profile \(escape(header.profile))"
        }
        var facts = ["\(session.steps.count) step(s)"]
        if let seconds = session.outcome?.seconds { facts.append("\(ModelPoint.format(seconds)) s") }
        facts.append("started \(escape(header.started))")
        let area = header.area
        facts.append("display \(escape(header.display)), area \(area.width)x\(area.height)+\(area.x)+\(area.y)")
        let calls = session.steps.compactMap(\.modelCall)
        if !calls.isEmpty {
            let prompt = calls.compactMap(\.promptTokens).reduce(0, +), reply = calls.compactMap(\.completionTokens).reduce(0, +)
            facts.append("\(calls.count) model call(s): \(prompt) prompt tokens, \(reply) reply tokens")
        }
        let warnings = (session.warnings + frameWarnings).map { "<div class=\"warn\">⚠ \(escape($0))</div>" }.joined()
        return """
            <h1>\(escape(header.task))</h1>
            <div class="card"><span class="badge \(badge)">\(escape(outcome))</span> \(escape(detail))
            <div class="facts">\(who)</div><div class="facts">\(facts.joined(separator: " · "))</div>\(warnings)</div>

            """
    }

    // MARK: One step

    private static func section(for step: StepRecord, frames: inout FrameReader) -> String {
        let before = frames.read(step.frames.before, step: step.step)
        let after = step.frames.after.flatMap { frames.read($0, step: step.step) }
        let focus = before.map { StepFocus(step, before: $0, after: after) }
        var html = "<div class=\"step card\" id=\"step-\(step.step)\"><h2><span class=\"number\">Step \(step.step)</span> "
        html += escape(step.performed.isEmpty ? "no action" : step.performed.map(\.description).joined(separator: "; "))
        if let route = step.route {
            html += " <span class=\"chip \(escape(route.model))\">\(escape(route.model))</span><span class=\"why\">\(escape(route.reason))</span>"
        }
        html += "</h2>\n"
        if step.status != "ok" {
            html += "<p class=\"warn\">The reply could not be used: \(escape(step.status))\(step.plan.reason.map { " — \(escape($0))" } ?? "")</p>\n"
        }
        html += facts(step, before: before, after: after) + reply(step.output)
        html += "<div class=\"frames\">"
        html += figure(before.map { marked($0, step: step, focus: focus) }, path: step.frames.before, caption: beforeCaption(focus, step: step))
        if let path = step.frames.after {
            html += figure(after.map { image in focus.map { outlined(image, $0) } ?? image }, path: path, caption: "after")
        }
        html += "</div>\n"
        if let before, let focus, let zoom = zoomBox(focus, in: before.bounds) {
            html += "<div class=\"frames zoom\">"
            html += figure(squared(before, step: step, focus: focus).cropped(to: zoom), path: step.frames.before, caption: "before, zoomed in")
            if let after { html += figure(outlined(after, focus).cropped(to: zoom), path: step.frames.after ?? "", caption: "after, zoomed in") }
            html += "</div>\n"
        }
        return html + "</div>\n"
    }

    /// The table: where each pointer action landed, what the screen did, the model call and timings.
    private static func facts(_ step: StepRecord, before: RGBImage?, after: RGBImage?) -> String {
        var rows: [(String, String)] = []
        for action in step.performed {
            guard let point = action.point else { continue }
            let chain = [point.model.map { "model \(coordinates($0))" }, "screenshot \(coordinates(point.image.map(Double.init)))",
                         "screen \(coordinates(point.screen.map(Double.init)))"]
            rows.append((action.action, chain.compactMap { $0 }.joined(separator: " → ")))
        }
        if let verification = verification(step, before: before, after: after) { rows.append(("verification", verification)) }
        if let refused = step.refused {
            rows.append(("not performed", "\(refused.action.description): the screen changed after the model saw it (\(refused.reason)): \(refused.detail)"))
        }
        if let call = step.modelCall { rows.append(("model call", call.description)) }
        if let timings = step.timingsMs {
            let text = [("think", timings.think), ("capture", timings.capture), ("parse", timings.parse), ("act", timings.act), ("settle", timings.settle)]
                .map { "\($0.0) \(ModelPoint.format($0.1)) ms" }
            rows.append(("timings", text.joined(separator: ", ")))
        }
        guard !rows.isEmpty else { return "" }
        return "<table>" + rows.map { "<tr><td>\(escape($0.0))</td><td>\(escape($0.1))</td></tr>" }.joined() + "</table>\n"
    }

    /// What the screen did. For a step without a target it is said again from the frames: sessions
    /// written before the loop told targetless steps apart say "not near the target" for typing.
    private static func verification(_ step: StepRecord, before: RGBImage?, after: RGBImage?) -> String? {
        guard step.performed.allSatisfy({ $0.point == nil }), let before, let after, before.size == after.size,
              step.verification != nil else { return step.verification }
        return Verification(ScreenChange(from: before, to: after), hasTarget: false).description
    }

    /// The reasoning, collapsed, and the answer; nothing for a demonstration, which has no reply.
    private static func reply(_ output: String) -> String {
        let (reasoning, answer) = split(output)
        var html = ""
        if !reasoning.isEmpty { html += "<details><summary>Reasoning (\(reasoning.count) characters)</summary><pre>\(escape(reasoning))</pre></details>\n" }
        if !answer.isEmpty { html += "<pre>\(escape(answer))</pre>\n" }
        return html
    }

    private static func beforeCaption(_ focus: StepFocus?, step: StepRecord) -> String {
        switch focus {
        case .target?: step.performed.contains { $0.start != nil } ? "before (the drag marked)" : "before (the target marked)"
        case .changed?: "before (outlined: where the step changed the screen)"
        case .wholeScreen?, nil: "before"
        }
    }

    // MARK: Pictures

    /// The before frame with every pointer action's target (and drag) marked, or the changed box outlined.
    private static func marked(_ image: RGBImage, step: StepRecord, focus: StepFocus?) -> RGBImage {
        var image = image
        for action in step.performed {
            guard let end = action.point?.image, end.count == 2 else { continue }
            if let from = action.start?.image, from.count == 2 {
                image.drawArrow(from: Point(x: from[0], y: from[1]), to: Point(x: end[0], y: end[1]), color: .mark)
            }
            image.drawMarker(at: Point(x: end[0], y: end[1]), color: .mark)
        }
        return focus.map { outlined(image, $0) } ?? image
    }

    /// The before frame for the zoom: a thin square around each target instead of the marker, so what
    /// was clicked stays readable when enlarged.
    private static func squared(_ image: RGBImage, step: StepRecord, focus: StepFocus) -> RGBImage {
        var image = outlined(image, focus)
        for action in step.performed {
            guard let end = action.point?.image, end.count == 2 else { continue }
            image.drawOutline(of: Rect(x: end[0] - 8, y: end[1] - 8, width: 17, height: 17), color: .mark, thickness: 1)
        }
        return image
    }

    private static func outlined(_ image: RGBImage, _ focus: StepFocus) -> RGBImage {
        guard case .changed(let box) = focus else { return image }
        var image = image
        image.outlineChange(box)
        return image
    }

    /// The part of a screenshot worth enlarging: 272x136 pixels around the target (twice as large in a
    /// column of the page, so small text reads), or the changed box with a margin; nil when the change
    /// is most of the screen (the whole frame shows it already).
    static func zoomBox(_ focus: StepFocus, in bounds: Rect) -> Rect? {
        let wanted: Rect
        switch focus {
        case .target(let point): wanted = Rect(x: point.x - 136, y: point.y - 68, width: 272, height: 136)
        case .changed(let box):
            guard box.width * 2 <= bounds.width, box.height * 2 <= bounds.height else { return nil }
            let width = max(272, box.width + 48), height = max(136, box.height + 48)
            wanted = Rect(x: box.center.x - width / 2, y: box.center.y - height / 2, width: width, height: height)
        case .wholeScreen: return nil
        }
        guard wanted.width <= bounds.width, wanted.height <= bounds.height else { return nil }
        // Slid inside the screenshot rather than cut, so every zoom is the same size.
        let x = min(max(wanted.x, bounds.x), bounds.maxX - wanted.width), y = min(max(wanted.y, bounds.y), bounds.maxY - wanted.height)
        return Rect(x: x, y: y, width: wanted.width, height: wanted.height)
    }

    private static func figure(_ image: RGBImage?, path: String, caption: String) -> String {
        guard let image, let data = try? PNG.encode(image) else {
            return "<figure><div class=\"missing\">\(escape(path)) cannot be shown</div><figcaption>\(escape(caption))</figcaption></figure>"
        }
        return "<figure><img src=\"data:image/png;base64,\(Data(data).base64EncodedString())\" alt=\"\(escape(caption))\">"
            + "<figcaption>\(escape(caption))</figcaption></figure>"
    }

    // MARK: Text

    private static func split(_ output: String) -> (reasoning: String, answer: String) {
        guard let close = output.range(of: "</think>", options: .backwards) else { return ("", output.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (String(output[..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines),
                String(output[close.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func coordinates(_ numbers: [Double]) -> String {
        guard numbers.count == 2 else { return "?" }
        return "(\(ModelPoint.format(numbers[0])), \(ModelPoint.format(numbers[1])))"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Reads a session's frames for the report, keeping one line per frame it could not read.
private struct FrameReader {
    let directory: URL
    private(set) var problems: [String] = []

    init(directory: URL) {
        self.directory = directory
    }

    mutating func read(_ relative: String, step: Int) -> RGBImage? {
        let url = directory.appendingPathComponent(relative)
        do {
            return try PNG.read(from: url)
        } catch {
            let why = FileManager.default.fileExists(atPath: url.path) ? "is not a readable PNG (\(error.code))" : "is missing"
            problems.append("step \(step): frame \(relative) \(why); the report shows a placeholder")
            return nil
        }
    }
}
