import Agent
import AgentCore
import Foundation

/// Writes to stdout at once: stdout is block-buffered when piped (`| tee run.log`), and a step can be
/// silent for many seconds while a model reads the screen.
func show(_ text: String, terminator: String = "\n") {
    print(text, terminator: terminator)
    fflush(nil)
}

extension AgentEvents {
    /// Progress on stdout: step numbers, what the model's backend is doing, the reasoning as it
    /// streams, each action and its verification. Secrets are masked here as they are in files.
    static func printing(secrets: [String] = []) -> AgentEvents {
        let mask = StreamingSecretMask(secrets)
        /// A line of its own, after whatever streamed text is still held back.
        let line: @Sendable (String) -> Void = { text in show(mask.flush() + "\n" + mask.masked(text)) }
        var events = AgentEvents()
        events.stepStarted = { step, model in line("── step \(step) ──" + (model.map { "  (\($0))" } ?? "")) }
        events.text = { piece in show(mask.feed(piece), terminator: "") }
        events.status = { status in line("  [\(status)…]") }
        events.parsed = { _, report in
            if let problem = AgentLoop.unusable(report) { line("  ✘ \(problem.status): \(problem.reason)") } else { show(mask.flush()) }
        }
        events.note = { note in line("  · \(note)") }
        events.acting = { _, resolved in line("  → \(resolved)") }
        events.verified = { _, verification, timings in show("  \(verification.glyph) \(verification)   [\(timings)]") }
        return events
    }
}

extension Verification {
    /// ✓ only when the screen changed where the action aimed.
    var glyph: String {
        switch self {
        case .changedNearTarget, .changed: "✓"
        case .changedElsewhere: "~"
        case .unchanged: "✗"
        }
    }
}
