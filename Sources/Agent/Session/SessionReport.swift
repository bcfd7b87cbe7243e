import Foundation
import Imaging

/// One self-contained HTML page for a session: a summary, then per step the screenshot with the
/// action marked, the reasoning (collapsible), the actions with their coordinates, the verification
/// and the timings. Images are embedded, so the file can be mailed or attached as it is.
public enum SessionReport {
    public static func html(for session: SessionLog) throws(SessionError) -> String {
        let header = session.header
        let model = header["model"] as? [String: Any] ?? [:]
        let kind = model["kind"] as? String ?? "?"
        let area = header["area"] as? [String: Any] ?? [:]
        let origin = Point(x: area["x"] as? Int ?? 0, y: area["y"] as? Int ?? 0)
        let outcome = session.outcome?["outcome"] as? String ?? "unfinished"
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>qwen-agent session: \(escape(header["task"] as? String ?? ""))</title>
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
            <h1>\(escape(header["task"] as? String ?? ""))</h1>
            <div class="summary">
            <span class="badge \(outcome == "success" ? "success" : "other")">\(escape(outcome))</span>
            \(escape(session.outcome?["detail"] as? String ?? "the run ended before its outcome was written"))<br>
            model: \(kind == "scripted" ? "<span class=\"badge scripted\">scripted</span> " : "")\(escape(kind)): \(escape(model["name"] as? String ?? "?"))
            · profile \(escape(header["profile"] as? String ?? "?")) · \(session.steps.count) step(s)
            \(session.outcome?["seconds"].map { " · \($0) s" } ?? "") · started \(escape(header["started"] as? String ?? "?"))
            · display \(escape(header["display"] as? String ?? "?")), area \(area["width"] ?? "?")x\(area["height"] ?? "?")+\(origin.x)+\(origin.y)
            \(session.warnings.map { "<div class=\"warn\">\(escape($0))</div>" }.joined())
            </div>

            """
        for step in session.steps {
            html += try stepSection(step, in: session.directory, origin: origin)
        }
        return html + "</body></html>\n"
    }

    private static func stepSection(_ step: [String: Any], in directory: URL, origin: Point) throws(SessionError) -> String {
        let number = step["step"] as? Int ?? 0
        let frames = step["frames"] as? [String: String] ?? [:]
        let performed = step["performed"] as? [[String: Any]] ?? []
        let plan = step["plan"] as? [String: Any] ?? [:]
        let output = step["output"] as? String ?? ""
        let (reasoning, answer) = split(output)
        var section = "<div class=\"step\"><h2>Step \(number)</h2>\n"
        if let status = step["status"] as? String, status != "ok" {
            section += "<p class=\"warn\">The reply could not be used: \(escape(status)) — \(escape(plan["reason"] as? String ?? ""))</p>\n"
        }
        section += "<table>"
        for action in performed {
            var where_ = ""
            if let point = action["point"] as? [String: Any] {
                where_ = "model \(coordinates(point["model"])) → screenshot \(coordinates(point["image"])) → screen \(coordinates(point["screen"]))"
            }
            section += "<tr><td><b>\(escape(action["description"] as? String ?? ""))</b></td><td>\(escape(where_))</td></tr>"
        }
        if let verification = step["verification"] as? String { section += "<tr><td>verification</td><td>\(escape(verification))</td></tr>" }
        if let timings = step["timings_ms"] as? [String: Any] {
            let text = ["think", "capture", "parse", "act", "settle"].compactMap { key in timings[key].map { "\(key) \($0) ms" } }
            section += "<tr><td>timings</td><td>\(escape(text.joined(separator: ", ")))</td></tr>"
        }
        if let call = step["model_call"] as? String {
            section += "<tr><td>model</td><td>\(escape(call))</td></tr>"
        }
        section += "</table>\n"
        if !reasoning.isEmpty { section += "<details><summary>Reasoning (\(reasoning.count) characters)</summary><pre>\(escape(reasoning))</pre></details>\n" }
        section += "<pre>\(escape(answer))</pre>\n<div class=\"frames\">"
        if let before = frames["before"] {
            var image = try frame(before, in: directory)
            for action in performed {
                guard let point = action["point"] as? [String: Any], let image_ = point["image"] as? [Int], image_.count == 2 else { continue }
                if let start = action["start"] as? [String: Any], let from = start["image"] as? [Int], from.count == 2 {
                    image.drawArrow(from: Point(x: from[0], y: from[1]), to: Point(x: image_[0], y: image_[1]), color: RGB(hex: 0xE0301E))
                }
                image.drawMarker(at: Point(x: image_[0], y: image_[1]), color: RGB(hex: 0xE0301E))
            }
            section += "<figure><img src=\"\(try dataURL(image))\"><figcaption>before (action marked)</figcaption></figure>"
        }
        if let after = frames["after"] {
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

    private static func coordinates(_ value: Any?) -> String {
        guard let numbers = value as? [NSNumber], numbers.count == 2 else { return "?" }
        return "(\(ModelPoint.format(numbers[0].doubleValue)), \(ModelPoint.format(numbers[1].doubleValue)))"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
