import Agent
public import ArgumentParser
import Desktop
import Foundation
public import MCPServer
import Models

struct MCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the desktop and the agent to an MCP client (Model Context Protocol over stdio).",
        discussion: """
            For assistants that speak the Model Context Protocol: the client launches `qwen-agent mcp` and talks \
            JSON-RPC on its standard input and output (logs go to stderr). Tools: screenshot; click, double_click, \
            right_click, drag, scroll, move, type, key (the computer_use arguments: coordinate [x, y], text, keys, \
            pixels); parse; run_task (needs a model: --model, --endpoint or --transcript).

            Coordinates are 0–1000 relative to the last screenshot (--coordinates pixels: pixels of the last \
            screenshot as returned). Every action goes through --only-window and --confirm like an agent run, and \
            the input tools' actions are recorded as the steps of one session for the server's lifetime (--session); \
            each run_task records a session of its own. The abort chord stops a run_task.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var desktop: DesktopOptions

    @Option(help: ArgumentHelp("The monitor screenshots and actions use unless a screenshot names another (default: the whole screen).",
                               valueName: "name"))
    var monitor: String?

    @Option(help: "How the input tools read coordinates: relative (0–1000 of the last screenshot) or pixels (of the last screenshot as returned).")
    var coordinates: ToolCoordinates = .relative

    @Flag(help: "Ask the client's user before each action (MCP elicitation); a client that cannot ask may act only on --only-window windows.")
    var confirm = false

    @Option(name: .customLong("only-window"), help: ArgumentHelp("Act only on windows of this WM_CLASS class (repeatable).", valueName: "class"))
    var onlyWindow: [String] = []

    @Option(help: ArgumentHelp("The abort chord, grabbed on the X server while run_task runs.", valueName: "chord"))
    var abortKey = "ctrl+alt+Escape"

    @Option(help: ArgumentHelp("Where to record the input tools' actions (default: a new folder under $XDG_DATA_HOME/qwen-agent/sessions).",
                               valueName: "dir"))
    var session: String?

    @Option(help: ArgumentHelp("Text to mask as •••••• wherever it would be recorded or shown (repeatable).", valueName: "value"))
    var secret: [String] = []

    func run() async throws {
        let logger = desktop.makeLogger()
        let profile = try model.loadProfile()
        // Fail here, with an exit status, rather than at the client's first call.
        try desktop.withDisplay { display, _ in
            if let monitor { _ = try display.monitor(named: monitor) }
        }
        var settings = MCPSettings(imageLimits: profile.image.limits(for: .served))
        settings.display = desktop.display
        settings.monitor = monitor
        settings.coordinates = coordinates
        settings.allowedWindowClasses = onlyWindow.isEmpty ? nil : Set(onlyWindow)
        settings.confirm = confirm
        settings.abortKey = abortKey
        settings.sessionDirectory = session.map { URL(fileURLWithPath: $0) }
        settings.secrets = secret
        let options = model
        let hasModel = options.transcript != nil || options.endpoint != nil || options.model != nil
            || !(ProcessInfo.processInfo.environment["QWEN_AGENT_MODEL"] ?? "").isEmpty
        var makeModels: RunModels?
        if hasModel {
            makeModels = { @Sendable profile in
                var options = options
                if let profile {
                    // Checked here, so that a bad name is the client's error message rather than a line on the server's stderr.
                    do throws(ProfileError) {
                        if try RouterProfile.load(profile) == nil { _ = try Profile.load(profile) }
                    } catch {
                        throw ModelSetupError(error.message)
                    }
                    options.agent = profile
                }
                do {
                    return try options.makeStepModels(logger: logger)
                } catch {
                    throw ModelSetupError(Failure(error)?.message ?? "the model could not be set up; the server's log (stderr) says why")
                }
            }
        }
        try await AgentMCPServer(settings: settings, makeModels: makeModels, version: QwenAgent.version, logger: logger).serveStandardStreams()
    }
}

extension ToolCoordinates: ExpressibleByArgument {}
