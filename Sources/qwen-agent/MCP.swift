import Agent
import AgentCore
public import ArgumentParser
import Desktop
import Foundation
public import MCPServer
import Models
import ServerSupport

struct MCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the desktop and the agent to MCP clients (Model Context Protocol over stdio, or streamable HTTP).",
        discussion: """
            For assistants that speak the Model Context Protocol: the client launches `qwen-agent mcp` and talks \
            JSON-RPC on its standard input and output (logs go to stderr). With --http it listens instead at \
            http://HOST:PORT/mcp (MCP streamable HTTP, one MCP session per client); loopback by default, any other \
            --host needs a token (--token, or one is generated and printed) that every request carries as \
            Authorization: Bearer TOKEN; requests with a foreign Origin get 403. Tools: screenshot; click, double_click, \
            right_click, drag, scroll, move, type, key (the computer_use arguments: coordinate [x, y], text, keys, \
            pixels); parse; run_task (needs a model: --model, --endpoint or --transcript).

            Coordinates are 0–1000 relative to the last screenshot (--coordinates pixels: pixels of the last \
            screenshot as returned). Every action goes through --only-window and --confirm like an agent run, and \
            the input tools' actions are recorded as the steps of one session for the server's lifetime (--session); \
            each run_task records a session of its own; SIGINT, SIGTERM or the client hanging up ends the server's \
            session with an outcome line. The abort chord (grabbed while a run_task or an input tool runs) stops it \
            and releases every key and button.
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

    @Flag(help: "Listen for MCP clients over streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
    var http = false

    @Option(help: ArgumentHelp("With --http: the address to listen on (anything but loopback needs a token).", valueName: "address"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("With --http: the port (0: any free one; the URL printed says which).", valueName: "n"))
    var port = 8765

    @Option(help: ArgumentHelp("With --http: the token every request must carry (default for a non-loopback --host: a new random one, printed).",
                               valueName: "secret"))
    var token: String?

    @Option(help: ArgumentHelp("The abort chord, grabbed on the X server while run_task or an input tool runs.", valueName: "chord"))
    var abortKey = "ctrl+alt+Escape"

    @Option(help: ArgumentHelp("Where to record the input tools' actions (default: a new folder under $XDG_DATA_HOME/qwen-agent/sessions).",
                               valueName: "dir"))
    var session: String?

    @Option(help: ArgumentHelp("Text to mask as •••••• wherever it would be recorded or shown (repeatable).", valueName: "value"))
    var secret: [String] = []

    func validate() throws {
        if !http && (host != "127.0.0.1" || port != 8765 || token != nil) { throw ValidationError("--host, --port and --token go with --http") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be from 0 to 65535, not \(port)") }
        if let token, token.count < 8 || token.contains(where: { $0.isWhitespace || $0 == ";" || $0 == "," }) {
            throw ValidationError("--token must be at least 8 characters without spaces, commas or semicolons")
        }
    }

    func run() async throws {
        let namesFolder = model.model != nil || !(ProcessInfo.processInfo.environment["QWEN_AGENT_MODEL"] ?? "").isEmpty
        // The engine loads at the first run_task, but choosing its BLAS kernels may re-execute the
        // process, which must happen now, before a client is connected.
        if namesFolder && model.endpoint == nil && model.transcript == nil { chooseBLASKernels() }
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
        var makeModels: RunModels?
        if options.transcript != nil || options.endpoint != nil || namesFolder {
            // Made on the first run_task of each profile and kept: an embedded engine loads once per server.
            let cache = StepModelCache(options: options, chat: nil, logger: logger)
            makeModels = { @Sendable profile in
                do {
                    return try cache.models(profile: profile)
                } catch let error as ProfileError {
                    // A bad name is the client's error message rather than a line on the server's stderr.
                    throw ModelSetupError(error.message)
                } catch {
                    throw ModelSetupError(Failure(error)?.message ?? "the model could not be set up; the server's log (stderr) says why")
                }
            }
        }
        let server = AgentMCPServer(settings: settings, makeModels: makeModels, version: QwenAgent.version, logger: logger)
        guard http else { return try await server.serveStandardStreams() }
        var listen = MCPHTTPSettings()
        listen.host = host
        listen.port = port
        listen.token = token ?? (ListenAddress.isLoopback(host) ? nil : ListenAddress.newToken())
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let token = listen.token
        do {
            try await server.serveHTTP(listen) { bound in
                print("qwen-agent mcp: http://\(shownHost == "0.0.0.0" ? "127.0.0.1" : shownHost):\(bound)\(MCPHTTPSettings.path)")
                if let token { print("token: \(token)  (send Authorization: Bearer TOKEN)") }
                print("press Ctrl-C to stop")
                fflush(nil)
            }
        } catch {
            try fail("cannot serve on \(host):\(port): \(error); is another server using the port? (--port 0 picks a free one)", status: 1)
        }
        print("stopped")
    }
}

extension ToolCoordinates: ExpressibleByArgument {}
