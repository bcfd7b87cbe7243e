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

    /// Sessions that cannot be read are bad input (65), through the one error-to-status mapping.
    @Test func anUnreadableSessionIsBadInput() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("show-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = try qwenAgent(["show", folder.path], display: nil)
        #expect(missing.status == 65 && missing.stderr == "qwen-agent: no session at \(folder.path) (session.jsonl is missing)\n")
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Sessions/v1-demonstration"), to: folder)
        let log = folder.appendingPathComponent("session.jsonl")
        let text = try String(contentsOf: log, encoding: .utf8)
        try text.replacingOccurrences(of: "\"coordinate_space\":\"pixels\"", with: "\"coordinate_space\":\"pixles\"")
            .write(to: log, atomically: true, encoding: .utf8)
        let typo = try qwenAgent(["show", folder.path, "-o", folder.appendingPathComponent("r.html").path], display: nil)
        #expect(typo.status == 65, "\(typo.stderr)")
        #expect(typo.stderr.hasPrefix("qwen-agent: \(log.path): the session header cannot be read ('coordinate_space' is not what version 1 writes"))
    }

    /// A chord that is not one is an argument error (64), said before any display is opened.
    @Test func anEmptyKeyChordIsAUsageError() throws {
        let run = try qwenAgent(["key", ""], display: nil)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr == "qwen-agent: '' is not a key chord (write keys joined by '+', e.g. ctrl+shift+t)\n")
    }
}
