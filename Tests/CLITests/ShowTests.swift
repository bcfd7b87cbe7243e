import Foundation
import TestSupport
import Testing
import TestSupportCore

@Suite("qwen-agent show: a report even when frames are lost")
struct ShowTests {
    @Test func aMissingFrameIsAPlaceholderAndAWarningNotAFailure() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("show-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Sessions/v1-demonstration"), to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("frames/step-0002-after.png"))
        let report = folder.appendingPathComponent("report.html")
        let show = try qwenAgent(["show", folder.path, "-o", report.path], display: nil)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stderr == "qwen-agent: warning: step 2: frame frames/step-0002-after.png is missing; the report shows a placeholder\n")
        #expect(show.stdout == "\(report.path): 3 step(s), outcome success\n")
        let html = try String(contentsOf: report, encoding: .utf8)
        #expect(html.contains("<div class=\"missing\">frames/step-0002-after.png cannot be shown</div>"))
        #expect(html.components(separatedBy: "<div class=\"step card\"").count == 4)
    }
}
