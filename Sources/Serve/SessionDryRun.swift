import Agent
import AgentCore
import Desktop
import Foundation
import Logging

/// The Sessions tab's "Dry run": `qwen-agent replay --dry-run` in the server's process. It looks at
/// the display (the first step that sends input is compared with the live screen) and sends nothing.
enum SessionDryRun {
    struct Report: Encodable {
        let session: String
        /// What replay would do at each step, as `replay --dry-run` prints it.
        let lines: [String]
        let steps: Int
        let checked: Int
        /// `completed`, or `mismatch` when the live screen does not look like the recording where the first step acts.
        let ending: String
        let summary: String
    }

    /// Input that is never sent: a dry run only checks and tells.
    private struct NoInput: InputSink {
        func perform(_ action: ResolvedAction) async throws {
            throw SessionError(.unreadable, "a dry run sends nothing")
        }

        func drainSentEvents() async -> [SentInputEvent] { [] }
        func releaseAll() async {}
    }

    /// Runs the dry run of the session in `folder` on `display`; a failure is the one line to show.
    static func run(_ folder: URL, name: String, display: String?, logger: Logger) async -> Result<Report, DryRunFailure> {
        let log: SessionLog
        do throws(SessionError) { log = try SessionLog.read(folder) } catch { return .failure(DryRunFailure(error.message, displayProblem: false)) }
        let screen: X11Desktop
        do throws(DesktopError) {
            let connection = try Display(name: display, logger: logger)
            // The controller is never used (NoInput takes the steps); X11Desktop needs one to own the connection.
            screen = X11Desktop(display: connection, input: try InputController(display: connection, isCancelled: { true }),
                                area: try connection.screenBounds())
        } catch {
            return .failure(DryRunFailure("cannot open the display \(display ?? "$DISPLAY") to compare the screen: \(error.message)",
                                          displayProblem: true))
        }
        let lines = LineCollector()
        var options = Replayer.Options()
        options.dryRun = true
        // Text masked when recorded is shown masked: nothing is typed.
        options.secret = "••••••"
        let replayer = Replayer(session: log, screen: screen, input: NoInput(), logger: logger, say: lines.add)
        do {
            let result = try await replayer.run(options)
            let summary: String
            let ending: String
            switch result.ending {
            case .mismatch(let step, let similarity, let picture):
                ending = "mismatch"
                summary = "✘ step \(step): the screen does not match the recording (similarity \(String(format: "%.3f", similarity))); "
                    + "a replay would stop there and send nothing (recorded vs live: \(picture.lastPathComponent))"
            case .completed, .finalMismatch:
                ending = "completed"
                summary = "dry run: \(result.checked) of \(result.steps) step(s) checked, nothing sent"
            }
            return .success(Report(session: name, lines: lines.all, steps: result.steps, checked: result.checked, ending: ending, summary: summary))
        } catch {
            return .failure(DryRunFailure("the dry run stopped: \(error)", displayProblem: false))
        }
    }

    /// The replayer's lines, in order (it says them from one task at a time).
    private final class LineCollector: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }
}

struct DryRunFailure: Error {
    let message: String
    /// The display could not be opened (503), rather than the session being unreadable (422).
    let displayProblem: Bool
    init(_ message: String, displayProblem: Bool) {
        self.message = message
        self.displayProblem = displayProblem
    }
}
