import AgentCore
import Foundation
import FuzzSupport

/// `session.jsonl` as `show` and `replay` read it, without frames: a log (complete steps, a warning for
/// each line it skipped) or a one-line error, and a report page for every log that reads. The bytes are
/// read from memory; the session's folder is an empty one, so every frame the log names is missing.
func fuzzSessionLine(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        let log = try SessionLog.read(Data(fuzzBytes(data, size)), directory: Scratch.folder)
        let report = SessionReport(log)
        precondition(report.html.hasPrefix("<!doctype html>"), "a report that is not a page")
    } catch {
        precondition(!error.message.isEmpty, "an error without a message")
    }
    return 0
}
