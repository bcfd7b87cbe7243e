import Agent
import AgentCore
import Foundation
import FuzzSupport

/// A whole session folder as `show` reads it: the input is `session.jsonl`, then the files of
/// `frames/` (`step-0001-before.png`, `step-0001-after.png`, `step-0002-before.png`, …), separated
/// by `\n====\n`. Frames that are damaged or missing become warnings, never a crash.
func fuzzSessionFolder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = pieces(of: fuzzBytes(data, size), separatedBy: Array("\n====\n".utf8))
    var files = [(name: "session.jsonl", bytes: parts[0])]
    for (index, frame) in parts.dropFirst().enumerated() {
        files.append((String(format: "frames/step-%04d-%@.png", index / 2 + 1, index % 2 == 0 ? "before" : "after"), frame))
    }
    guard let log = try? SessionLog.read(Scratch.folder(with: files)) else { return 0 }
    let report = SessionReport(log)
    precondition(report.html.hasPrefix("<!doctype html>"), "a report that is not a page")
    return 0
}
