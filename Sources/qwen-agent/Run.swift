import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Models
import Synchronization

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Do a task on the desktop: qwen-agent \"log out of the app\".",
        discussion: """
            Each step captures the screen, asks the model, parses its reasoning into actions, checks them \
            (--only-window, --confirm), performs them with XTest, waits for the screen to settle and checks \
            that something changed; a step that changed nothing or a reply that cannot be used is told to \
            the model, within a budget. Press the abort key (default ctrl+alt+Escape, grabbed on the X \
            server) to stop at once; every pressed key and button is released.

            Exit statuses: 0 success; 1 the model reported failure or the run got stuck; 2 needs the user; \
            3 step budget exhausted; 4 error (model, display or unusable replies); 130 aborted by the user; \
            64, 65, 69, 73 as for the other commands (qwen-agent --help).
            """)

    @Argument(help: "The task, in words.") var task: String
    @OptionGroup var model: ModelOptions
    @OptionGroup var desktop: DesktopOptions

    @Option(help: ArgumentHelp("The monitor to work on (default: the whole screen).", valueName: "name"))
    var monitor: String?

    @Flag(help: "Plan only: think and show the planned actions on a screenshot; send no input (same as `qwen-agent plan`).")
    var dryRun = false

    @Flag(help: "Ask before each action, showing exactly what will be done (text with invisible characters escaped).")
    var confirm = false

    @Option(name: .customLong("only-window"), help: ArgumentHelp("Act only on windows of this WM_CLASS class (repeatable).", valueName: "class"))
    var onlyWindow: [String] = []

    @Option(help: ArgumentHelp("Step budget (default: the profile's step_limit).", valueName: "n"))
    var maxSteps: Int?

    @Option(help: ArgumentHelp("Replies in a row that cannot be used (unparsable, out of range) before the run ends in error.", valueName: "n"))
    var maxBadReplies = RunOptions().maxBadReplies

    @Option(help: ArgumentHelp("The abort chord, grabbed on the X server for the run.", valueName: "chord"))
    var abortKey = "ctrl+alt+Escape"

    @Option(help: ArgumentHelp("Where to write the session (default: a new folder under $XDG_DATA_HOME/qwen-agent/sessions).",
                               valueName: "dir"))
    var session: String?

    @Option(help: ArgumentHelp("Text to mask as •••••• wherever it would be recorded (repeatable): passwords you let the agent type.",
                               valueName: "value"))
    var secret: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("With --dry-run: where to write the annotated screenshot.", valueName: "file.png"))
    var output = "plan.png"

    func validate() throws {
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if maxBadReplies < 1 { throw ValidationError("--max-bad-replies must be at least 1") }
        try MistypedCommand.check(task: task, explicitly: MistypedCommand.runWasTyped)
    }

    func run() async throws {
        if dryRun {
            try await Plan.plan(task: task, model: model, desktop: desktop, monitor: monitor, output: output)
            return
        }
        let logger = desktop.makeLogger()
        var models = try model.makeStepModels(logger: logger)
        if let maxSteps { models = models.withStepLimit(maxSteps) }
        Interruption.install()
        var settings = LiveRun.Settings()
        settings.display = desktop.display
        settings.monitor = monitor
        settings.abortKey = abortKey
        settings.sessionDirectory = session.map { URL(fileURLWithPath: $0) }
        settings.secrets = secret
        settings.options.isAborted = { Interruption.requested }
        settings.options.maxBadReplies = maxBadReplies
        settings.options.allowedWindowClasses = onlyWindow.isEmpty ? nil : Set(onlyWindow)
        if confirm { settings.options.confirm = Confirmations(secrets: secret).ask }
        var outcome: Outcome = .error("not started")
        var setupFailure: (message: String, status: Int32)?
        do {
            outcome = try await LiveRun(task: task, models: models, settings: settings).run(events: .printing(secrets: secret), logger: logger) { start in
                print("task: \(task)\nmodel: \(models.summary)  area: \(start.area)  abort: \(abortKey)")
                print("session: \(start.session.path)")
            }
        } catch {
            guard let failure = Failure(error) else { throw error }
            setupFailure = (failure.message, failure.status)
        }
        if let setupFailure { try fail(setupFailure.message, status: setupFailure.status) }
        print("\n\(Self.symbol(outcome)) \(outcome)")
        let status = Self.exitStatus(outcome)
        if status != 0 { throw ExitCode(status) }
    }

    static func exitStatus(_ outcome: Outcome) -> Int32 {
        switch outcome {
        case .success: 0
        case .failure: 1
        case .needsUser: 2
        case .budgetExhausted: 3
        case .error: 4
        case .abortedByUser: ExitStatus.interrupted
        }
    }

    private static func symbol(_ outcome: Outcome) -> String {
        if case .success = outcome { return "✔" }
        return "✘"
    }
}

/// `--confirm`: asks on the terminal before each action. The answer is read on a thread of its own,
/// so the run's abort key and time limits go on being watched while the question waits.
final class Confirmations: Sendable {
    let secrets: [String]
    private let all = Mutex(false)

    init(secrets: [String]) {
        self.secrets = secrets
    }

    func ask(_ resolved: ResolvedAction) async -> Confirmation {
        if all.withLock({ $0 }) { return .perform }
        let shown = StreamingSecretMask(secrets).masked(resolved.description)
        show("\n  about to: \(shown)\n  [y]es / [n]o, skip it / [a]ll the rest / [s]top? ", terminator: "")
        while true {
            guard let reply = await Self.readLine() else { return .stop }
            switch reply.trimmingCharacters(in: .whitespaces).lowercased() {
            case "y", "yes": return .perform
            case "n", "no", "skip": return .skip
            case "a", "all":
                all.withLock { $0 = true }
                return .performAll
            case "s", "stop", "q", "quit": return .stop
            default: show("  answer y, n, a or s: ", terminator: "")
            }
        }
    }

    /// One line of standard input (nil at its end), read on a thread that may block.
    private static func readLine() async -> String? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: Swift.readLine()) }.start()
        }
    }
}
