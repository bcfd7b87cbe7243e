import Foundation
import Imaging
import Models

/// One self-contained HTML page for a session: a summary, then per step the screenshot with the
/// action marked, the reasoning (collapsible), the actions with their coordinates, the verification
/// and the timings. Images are embedded, so the file can be mailed or attached as it is.
public enum SessionReport {
    public static func html(for session: SessionLog) throws(SessionError) -> String {
        let header = session.header
        let kind = header.model.kind
        let area = header.area
        let outcome = session.outcome?.outcome ?? "unfinished"
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>qwen-agent session: \(escape(header.task))</title>
            <style>
            body{font:15px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}
            h1{font-size:22px;margin:0 0 8px} .summary{background:#f4f6f8;border-radius:8px;padding:12px 16px;margin-bottom:24px}
            .badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
            .success{background:#2e8b57}.other{background:#c0392b}.scripted{background:#8e44ad}
            .step{border-top:1px solid #ddd;padding:16px 0} .step h2{font-size:18px;margin:0 0 8px}
            img{max-width:100%;border:1px solid #ccc} pre{white-space:pre-wrap;background:#fafafa;padding:8px;border:1px solid #eee}
            .frames{display:grid;grid-template-columns:1fr 1fr;gap:8px} .warn{color:#c0392b}
            table{border-collapse:collapse} td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
            </style></head><body>
            <h1>\(escape(header.task))</h1>
            <div class="summary">
            <span class="badge \(outcome == "success" ? "success" : "other")">\(escape(outcome))</span>
            \(escape(session.outcome?.detail ?? "the run ended before its outcome was written"))<br>
            model: \(kind == "scripted" ? "<span class=\"badge scripted\">scripted</span> " : "")\(escape(kind)): \(escape(header.model.name))
            · profile \(escape(header.profile)) · \(session.steps.count) step(s)
            \(session.outcome.map { " · \($0.seconds) s" } ?? "") · started \(escape(header.started))
            · display \(escape(header.display)), area \(area.width)x\(area.height)+\(area.x)+\(area.y)
            \(session.warnings.map { "<div class=\"warn\">\(escape($0))</div>" }.joined())
            </div>

            """
        for step in session.steps {
            html += try stepSection(step, in: session.directory)
        }
        return html + "</body></html>\n"
    }

    private static func stepSection(_ step: StepRecord, in directory: URL) throws(SessionError) -> String {
        let performed = step.performed
        let (reasoning, answer) = split(step.output)
        var section = "<div class=\"step\"><h2>Step \(step.step)</h2>\n"
        if step.status != "ok" {
            section += "<p class=\"warn\">The reply could not be used: \(escape(step.status)) — \(escape(step.plan.reason ?? ""))</p>\n"
        }
        section += "<table>"
        if let route = step.route { section += "<tr><td>answered by</td><td>\(escape(route.model)): \(escape(route.reason))</td></tr>" }
        for action in performed {
            var where_ = ""
            if let point = action.point {
                where_ = [point.model.map { "model \(coordinates($0)) → " }, "screenshot \(coordinates(point.image.map(Double.init))) → screen \(coordinates(point.screen.map(Double.init)))"]
                    .compactMap { $0 }.joined()
            }
            section += "<tr><td><b>\(escape(action.description))</b></td><td>\(escape(where_))</td></tr>"
        }
        if let verification = step.verification { section += "<tr><td>verification</td><td>\(escape(verification))</td></tr>" }
        if let timings = step.timingsMs {
            let text = [("think", timings.think), ("capture", timings.capture), ("parse", timings.parse), ("act", timings.act), ("settle", timings.settle)]
                .map { "\($0.0) \(ModelPoint.format($0.1)) ms" }
            section += "<tr><td>timings</td><td>\(escape(text.joined(separator: ", ")))</td></tr>"
        }
        if let call = step.modelCall {
            section += "<tr><td>model</td><td>\(escape(call.description))</td></tr>"
        }
        section += "</table>\n"
        if !reasoning.isEmpty { section += "<details><summary>Reasoning (\(reasoning.count) characters)</summary><pre>\(escape(reasoning))</pre></details>\n" }
        section += "<pre>\(escape(answer))</pre>\n<div class=\"frames\">"
        do {
            var image = try frame(step.frames.before, in: directory)
            for action in performed {
                guard let end = action.point?.image, end.count == 2 else { continue }
                if let from = action.start?.image, from.count == 2 {
                    image.drawArrow(from: Point(x: from[0], y: from[1]), to: Point(x: end[0], y: end[1]), color: RGB(hex: 0xE0301E))
                }
                image.drawMarker(at: Point(x: end[0], y: end[1]), color: RGB(hex: 0xE0301E))
            }
            section += "<figure><img src=\"\(try dataURL(image))\"><figcaption>before (action marked)</figcaption></figure>"
        }
        if let after = step.frames.after {
            section += "<figure><img src=\"\(try dataURL(try frame(after, in: directory)))\"><figcaption>after</figcaption></figure>"
        }
        return section + "</div></div>\n"
    }

    private static func frame(_ relative: String, in directory: URL) throws(SessionError) -> RGBImage {
        do {
            return try PNG.read(from: directory.appendingPathComponent(relative))
        } catch {
            throw SessionError("frame \(relative) of the session cannot be read: \(error.message)")
        }
    }

    private static func dataURL(_ image: RGBImage) throws(SessionError) -> String {
        do {
            return "data:image/png;base64," + Data(try PNG.encode(image)).base64EncodedString()
        } catch {
            throw SessionError("cannot encode a frame for the report: \(error.message)")
        }
    }

    private static func split(_ output: String) -> (reasoning: String, answer: String) {
        guard let close = output.range(of: "</think>", options: .backwards) else { return ("", output) }
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
