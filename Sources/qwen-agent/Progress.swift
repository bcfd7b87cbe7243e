import Agent
import Foundation

/// Writes to stdout at once: stdout is block-buffered when piped (`| tee run.log`), and a step can be
/// silent for many seconds while a model reads the screen.
func show(_ text: String, terminator: String = "\n") {
    print(text, terminator: terminator)
    fflush(nil)
}

extension AgentEvents {
    /// Progress on stdout: step numbers, the reasoning as it streams, each action and its verification.
    static var printing: AgentEvents {
        var events = AgentEvents()
        events.stepStarted = { step in show("\n── step \(step) ──") }
        events.text = { piece in show(piece, terminator: "") }
        events.parsed = { _, report in
            if !report.isSuccess { show("\n  ✘ \(report.status): \(report.jsonObject["reason"] as? String ?? "")") }
        }
        events.note = { note in show("\n  · \(note)") }
        events.acting = { _, resolved in show("\n  → \(resolved)") }
        events.verified = { _, verification, timings in show("  ✓ \(verification)   [\(timings)]") }
        return events
    }
}
