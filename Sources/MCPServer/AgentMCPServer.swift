public import Agent
public import AgentCore
import Desktop
public import Foundation
import Imaging
public import Logging
public import MCP
import Models
import ServerSupport
import Synchronization

/// Everything `qwen-agent mcp` was told on its command line, except the models.
public struct MCPSettings: Sendable {
    /// The X display (nil: `$DISPLAY`).
    public var display: String?
    /// The monitor screenshots and actions use unless a screenshot names another (nil: the whole screen).
    public var monitor: String?
    public var coordinates = ToolCoordinates.relative
    /// Only act on windows whose `WM_CLASS` class is one of these (nil: any window).
    public var allowedWindowClasses: Set<String>?
    /// Ask the user (through the client) before each action.
    public var confirm = false
    /// The abort chord, grabbed on the X server while `run_task` runs.
    public var abortKey = "ctrl+alt+Escape"
    /// The session the input tools' actions are recorded in (nil: a new folder under the sessions directory).
    public var sessionDirectory: URL?
    /// Text masked wherever it would be recorded or shown.
    public var secrets: [String] = []
    /// How large a screenshot the client gets: the profile's limits, as the agent's model would see it.
    public var imageLimits: ModelImage.Limits

    public init(imageLimits: ModelImage.Limits) {
        self.imageLimits = imageLimits
    }

    func masked(_ text: String) -> String { StreamingSecretMask(secrets).masked(text) }
}

/// Makes the models of one `run_task` call from its `profile` argument (nil: the configured profile);
/// nil when the server was started without a model.
public typealias RunModels = @Sendable (_ profile: String?) throws -> StepModels

/// Why the models of a run could not be made (an unknown profile, a model folder that does not load).
public struct ModelSetupError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The desktop and the agent as a Model Context Protocol server (`qwen-agent mcp`).
///
/// Tools: `screenshot`; the input tools `click`, `double_click`, `right_click`, `drag`, `scroll`,
/// `move`, `type`, `key` (see ``InputTool``); `parse`; `run_task`. Bad arguments and unknown tools are
/// JSON-RPC errors (`invalid params`) that say what is wrong; a safety refusal or a desktop failure is
/// a tool result with `isError`. The server keeps serving after either.
///
/// One desktop and one session of the input tools' actions for the server's lifetime, whichever
/// transport and however many clients (over HTTP each client has its own MCP session).
public struct AgentMCPServer: Sendable {
    public let settings: MCPSettings
    public let makeModels: RunModels?
    public let version: String
    public let logger: Logger
    let control: DesktopControl

    public init(settings: MCPSettings, makeModels: RunModels?, version: String, logger: Logger) {
        self.settings = settings
        self.makeModels = makeModels
        self.version = version
        self.logger = logger
        control = DesktopControl(settings: settings, logger: logger)
    }

    /// Serves the client that launched this process, over standard input and output, until it
    /// disconnects or SIGINT/SIGTERM stops the server; then writes the input tools' session its outcome.
    public func serveStandardStreams() async throws {
        let server = try await start(transport: StdioTransport(logger: logger))
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await server.waitUntilCompleted()
                return false
            }
            group.addTask {
                await StopSignal.next()
                return !Task.isCancelled
            }
            let stopped = await group.next() ?? false
            if stopped {
                // Let go of the desktop before the client's connection goes.
                await windDown(reason: "the server was stopped (SIGINT or SIGTERM)")
                await server.stop()
            }
            group.cancelAll()
            return stopped
        }
        if !stopped { await windDown(reason: "the client disconnected") }
    }

    /// Starts serving one client over `transport`; the server runs until the transport closes.
    func start(transport: any Transport) async throws -> Server {
        let server = Server(
            name: "qwen-agent", version: version,
            instructions: "Operates an X11 desktop: take a screenshot, then act with coordinates in the space the screenshot's text states; "
                + "run_task hands a whole task to qwen-agent's own agent.",
            capabilities: .init(tools: .init(listChanged: false)))
        let handlers = ToolHandlers(settings: settings, makeModels: makeModels, server: server, control: control, logger: logger)
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: handlers.tools) }
        await server.withMethodHandler(ToolCall.self) { params in try await handlers.call(try ToolCall.parameters(params)) }
        try await server.start(transport: transport) { _, capabilities in
            handlers.clientCanAsk.store(capabilities.elicitation != nil, ordering: .relaxed)
        }
        return server
    }

    /// The server is ending: whatever is still acting (an input tool, a run) stops and lets go of its
    /// keys and buttons, and the input tools' session gets its outcome line.
    func windDown(reason: String) async {
        await control.stop(reason: reason)
    }
}

/// `tools/call`, with its parameters read by the server rather than the SDK, so that a call without
/// a tool name (or with arguments that are not an object) gets an `invalidParams` error saying so.
enum ToolCall: Method {
    static let name = CallTool.name
    typealias Parameters = Value
    typealias Result = CallTool.Result

    static func parameters(_ value: Value) throws -> CallTool.Parameters {
        guard let members = value.objectValue else {
            throw MCPError.invalidParams("tools/call needs params {\"name\": TOOL, \"arguments\": {…}}")
        }
        guard members["name"]?.stringValue != nil else {
            throw MCPError.invalidParams("tools/call needs 'name', the tool to call (tools/list names them)")
        }
        if let arguments = members["arguments"], !arguments.isNull, arguments.objectValue == nil {
            throw MCPError.invalidParams("tools/call 'arguments' must be an object of named arguments")
        }
        do {
            return try JSONDecoder().decode(CallTool.Parameters.self, from: JSONEncoder().encode(value))
        } catch {
            throw MCPError.invalidParams("tools/call params do not fit the protocol: \(error)")
        }
    }
}

/// What the tools do, with what they share: the desktop, the models, the client's capabilities.
final class ToolHandlers: Sendable {
    let settings: MCPSettings
    let makeModels: RunModels?
    let server: Server
    let control: DesktopControl
    let logger: Logger
    /// Whether the client can ask its user (MCP elicitation), for `--confirm`.
    let clientCanAsk = Atomic(false)

    init(settings: MCPSettings, makeModels: RunModels?, server: Server, control: DesktopControl, logger: Logger) {
        (self.settings, self.makeModels, self.server, self.control, self.logger) = (settings, makeModels, server, control, logger)
    }

    var tools: [Tool] {
        [Tool(name: "screenshot",
              description: "Capture the screen (or a monitor), downscaled as qwen-agent's model would see it; the text states its size and the coordinate space of the input tools.",
              inputSchema: ["type": "object", "properties": ["monitor": ["type": "string", "description": "A RandR monitor name (default: the configured one, or the whole screen)."]],
                            "additionalProperties": false],
              annotations: .init(readOnlyHint: true, openWorldHint: false))]
            + InputTool.allCases.map { $0.tool(coordinates: settings.coordinates) }
            + [Tool(name: "parse",
                    description: "Parse a model's output (Qwen3-VL reasoning and tool calls) into a plan: each action with its screen pixels, or why it does not parse. Touches nothing.",
                    inputSchema: ["type": "object", "properties": [
                        "text": ["type": "string", "description": "The model's output."],
                        "shape": ["type": "string", "enum": ["thinking", "instruct"], "description": "thinking (must contain </think>, the default) or instruct."],
                        "coordinates": ["type": "string", "description": "How the output writes points: relative (0–1000, the default), pixels, or resized:WxH."],
                        "image_size": ["type": "string", "description": "WxH of the screenshot the model saw (default: the last screenshot's area, or the whole screen)."],
                    ], "required": ["text"], "additionalProperties": false],
                    annotations: .init(readOnlyHint: true, openWorldHint: false)),
               Tool(name: "run_task",
                    description: "Run qwen-agent's own agent on a task with the configured model, to an outcome. Progress notifications stream its reasoning; cancelling the request aborts the run and releases every key and button.",
                    inputSchema: ["type": "object", "properties": [
                        "task": ["type": "string", "description": "The task, in words."],
                        "profile": ["type": "string", "description": "An agent profile (default: the server's --agent)."],
                        "max_steps": ["type": "integer", "minimum": 1, "description": "Step budget (default: the profile's)."],
                        "plan_only": ["type": "boolean", "description": "Only think and return the planned actions for the current screen; send no input."],
                    ], "required": ["task"], "additionalProperties": false],
                    annotations: .init(readOnlyHint: false, destructiveHint: true, openWorldHint: false))]
    }

    func call(_ params: CallTool.Parameters) async throws -> CallTool.Result {
        do {
            switch params.name {
            case "screenshot": return try await screenshot(params.arguments)
            case "parse": return try await parse(params.arguments)
            case "run_task": return try await runTask(params.arguments, progressToken: params._meta?.progressToken)
            default:
                guard let tool = InputTool(rawValue: params.name) else {
                    throw MCPError.invalidParams("unknown tool '\(params.name)'; tools/list names them: \(tools.map(\.name).joined(separator: ", "))")
                }
                return try await act(tool, params.arguments)
            }
        } catch let error as MCPError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let refusal as Refusal {
            return .init(content: [.text(text: "refused: \(refusal.message)", annotations: nil, _meta: nil)], isError: true)
        } catch let aborted as Aborted {
            return .init(content: [.text(text: aborted.message, annotations: nil, _meta: nil)], isError: true)
        } catch {
            return .init(content: [.text(text: "\(params.name) failed: \(Self.describe(error))", annotations: nil, _meta: nil)], isError: true)
        }
    }

    // MARK: Tools

    private func screenshot(_ arguments: [String: Value]?) async throws -> CallTool.Result {
        let arguments = try Self.check(arguments, tool: "screenshot", known: ["monitor"])
        let monitor = try Self.string(arguments, "monitor", tool: "screenshot")
        let shot: DesktopControl.Screenshot
        do { shot = try await control.screenshot(monitor: monitor) } catch let error as DesktopError where monitor != nil && error.code == .invalidArgument {
            throw MCPError.invalidParams(error.message)
        }
        let area = shot.area
        let text = "screenshot of \(monitor.map { "monitor \($0)" } ?? "the screen") (\(area.size) at +\(area.origin.x)+\(area.origin.y) on the X screen), "
            + "sent as \(shot.sent); \(await control.coordinateSpace(sent: shot.sent))"
        let structured: Value? = ["width": .int(shot.sent.width), "height": .int(shot.sent.height),
                                  "area": ["x": .int(area.origin.x), "y": .int(area.origin.y), "width": .int(area.size.width), "height": .int(area.size.height)],
                                  "coordinates": .string(settings.coordinates.rawValue)]
        return .init(content: [.image(data: Data(shot.png).base64EncodedString(), mimeType: "image/png", annotations: nil, _meta: nil),
                               .text(text: text, annotations: nil, _meta: nil)],
                     structuredContent: structured)
    }

    private func act(_ tool: InputTool, _ arguments: [String: Value]?) async throws -> CallTool.Result {
        let action = try tool.action(arguments: arguments)
        try checkConfirmable()
        let call = "{\"name\": \"\(tool.rawValue)\", \"arguments\": \(Self.json(arguments ?? [:]))}"
        let done = try await control.perform(action, call: call, confirm: confirmation)
        return .init(content: [.text(text: done, annotations: nil, _meta: nil)])
    }

    private func parse(_ arguments: [String: Value]?) async throws -> CallTool.Result {
        let arguments = try Self.check(arguments, tool: "parse", known: ["text", "shape", "coordinates", "image_size"])
        guard let text = try Self.string(arguments, "text", tool: "parse") else { throw MCPError.invalidParams("parse needs 'text' (the model's output)") }
        let shapeName = try Self.string(arguments, "shape", tool: "parse") ?? OutputShape.thinking.rawValue
        guard let shape = OutputShape(rawValue: shapeName) else { throw MCPError.invalidParams("parse 'shape' must be thinking or instruct, not '\(shapeName)'") }
        let spaceName = try Self.string(arguments, "coordinates", tool: "parse") ?? "relative"
        guard let space = CoordinateMapping.CoordinateSpace(profileValue: spaceName) else {
            throw MCPError.invalidParams("parse 'coordinates' must be relative, pixels or resized:WxH, not '\(spaceName)'")
        }
        let area: Rect
        if let sizeText = try Self.string(arguments, "image_size", tool: "parse") {
            let parts = sizeText.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw MCPError.invalidParams("parse 'image_size' must be WxH, e.g. 1280x800, not '\(sizeText)'") }
            area = Rect(x: 0, y: 0, width: parts[0], height: parts[1])
        } else {
            area = try await control.viewArea()
        }
        let report = PlanReport(text: text, shape: shape, mapping: CoordinateMapping(space: space, imageSize: area.size, imageOrigin: area.origin))
        let json = report.json
        return .init(content: [.text(text: json, annotations: nil, _meta: nil)],
                     structuredContent: Self.decoded(json))
    }

    private func runTask(_ arguments: [String: Value]?, progressToken: ProgressToken?) async throws -> CallTool.Result {
        let arguments = try Self.check(arguments, tool: "run_task", known: ["task", "profile", "max_steps", "plan_only"])
        guard let task = try Self.string(arguments, "task", tool: "run_task"), !task.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw MCPError.invalidParams("run_task needs 'task', the task in words")
        }
        let profile = try Self.string(arguments, "profile", tool: "run_task")
        var maxSteps: Int?
        if let value = arguments["max_steps"] {
            guard let steps = value.intValue ?? value.doubleValue.flatMap({ $0 == $0.rounded() ? Int(exactly: $0) : nil }), steps >= 1 else {
                throw MCPError.invalidParams("run_task 'max_steps' must be a whole number of at least 1")
            }
            maxSteps = steps
        }
        var planOnly = false
        if let value = arguments["plan_only"] {
            guard let flag = value.boolValue else { throw MCPError.invalidParams("run_task 'plan_only' must be true or false") }
            planOnly = flag
        }
        guard let makeModels else {
            return .init(content: [.text(text: "run_task needs a model: start qwen-agent mcp with --model DIR, --endpoint URL --model NAME, or --transcript FILE",
                                         annotations: nil, _meta: nil)], isError: true)
        }
        var models: StepModels
        do {
            models = try makeModels(profile)
        } catch let error as ModelSetupError {
            if profile != nil { throw MCPError.invalidParams(error.message) }
            throw error
        }
        if let maxSteps { models = models.withStepLimit(maxSteps) }
        let progress = Progress(server: server, token: progressToken, secrets: settings.secrets)
        defer { progress.finish() }
        if planOnly {
            return try await plan(task: task, seat: models.lead, progress: progress)
        }
        if settings.confirm && !clientCanAsk.load(ordering: .relaxed) && settings.allowedWindowClasses == nil {
            throw Refusal(Self.cannotConfirm)
        }
        guard await control.claimForRun(true) else { throw Refusal("another run_task is driving the desktop; wait for it or cancel it") }
        let cancelled = Atomic(false)
        var liveSettings = LiveRun.Settings()
        liveSettings.display = settings.display
        liveSettings.monitor = settings.monitor
        liveSettings.abortKey = settings.abortKey
        liveSettings.secrets = settings.secrets
        liveSettings.options.allowedWindowClasses = settings.allowedWindowClasses
        if settings.confirm && clientCanAsk.load(ordering: .relaxed) { liveSettings.options.confirm = confirmation }
        let flags = control.flags
        liveSettings.options.isAborted = { cancelled.load(ordering: .relaxed) || flags.serverStopping }
        let outcome: Outcome
        do {
            outcome = try await withTaskCancellationHandler { [liveSettings] in
                try await LiveRun(task: task, models: models, settings: liveSettings).run(events: progress.events, logger: logger) { start in
                    progress.started(start)
                }
            } onCancel: {
                cancelled.store(true, ordering: .relaxed)
            }
        } catch {
            _ = await control.claimForRun(false)
            throw error
        }
        _ = await control.claimForRun(false)
        progress.finish()
        await progress.flushed()
        // A cancelled request gets no response (the MCP rule); the run has ended and let go of every key.
        try Task.checkCancellation()
        let summary = progress.summary
        let symbol = if case .success = outcome { "✔" } else { "✘" }
        let text = "\(symbol) \(outcome)\nsteps: \(summary.steps)\n" + summary.actions.map { "  - \($0)\n" }.joined()
            + "session: \(summary.session ?? "none")"
        let structured: Value? = ["outcome": .string(outcome.kind), "detail": .string(settings.masked(outcome.description)),
                                  "steps": .int(summary.steps), "actions": .array(summary.actions.map(Value.string)),
                                  "session": summary.session.map(Value.string) ?? .null]
        let failed = if case .error = outcome { true } else { false }
        return .init(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: structured, isError: failed)
    }

    /// `plan_only`: one step of thinking on the current screen; the plan, and the screenshot with the plan drawn on it.
    private func plan(task: String, seat: ModelSeat, progress: Progress) async throws -> CallTool.Result {
        let (screenshot, area) = try await control.capture()
        let cancelled = Atomic(false)
        let events = progress.events
        let result = try await withTaskCancellationHandler {
            try await Planner(seat: seat).plan(task: task, screenshot: screenshot, origin: area.origin, isAborted: { cancelled.load(ordering: .relaxed) }) { event in
                switch event {
                case .text(let piece): events.text(piece)
                case .status(let status): events.status(status)
                case .cost(let cost): events.note(cost.description)
                }
            }
        } onCancel: {
            cancelled.store(true, ordering: .relaxed)
        }
        progress.finish()
        await progress.flushed()
        try Task.checkCancellation()
        let picture = ModelImage.prepare(result.picture, limits: settings.imageLimits, space: .relative1000).image
        let json = result.report.json
        return .init(content: [.text(text: json, annotations: nil, _meta: nil),
                               .image(data: Data(try PNG.encode(picture)).base64EncodedString(), mimeType: "image/png", annotations: nil, _meta: nil)],
                     structuredContent: Self.decoded(json))
    }

    // MARK: Confirmation

    static let cannotConfirm = "--confirm: this client cannot ask its user (it offers no MCP elicitation), so actions are allowed only "
        + "on the windows of --only-window; restart qwen-agent mcp with --only-window CLASS, or use a client that supports elicitation"

    /// With `--confirm` and a client that cannot ask: refuse unless an allow-list bounds the actions.
    private func checkConfirmable() throws {
        if settings.confirm && !clientCanAsk.load(ordering: .relaxed) && settings.allowedWindowClasses == nil { throw Refusal(Self.cannotConfirm) }
    }

    /// Asks the client's user about an action (MCP elicitation) when `--confirm` is on and the client can ask.
    var confirmation: @Sendable (ResolvedAction) async -> Confirmation {
        guard settings.confirm else { return { _ in .perform } }
        return { [self] resolved in
            guard clientCanAsk.load(ordering: .relaxed) else { return .perform } // bounded by --only-window, checked before
            do {
                let answer = try await server.requestElicitation(message: "qwen-agent is about to: \(settings.masked(resolved.description)). Allow it?",
                                                                 requestedSchema: .init(properties: [:]))
                switch answer.action {
                case .accept: return .perform
                case .decline: return .skip
                case .cancel: return .stop
                }
            } catch {
                return .stop
            }
        }
    }

    // MARK: Arguments

    private static func check(_ arguments: [String: Value]?, tool: String, known: [String]) throws(MCPError) -> [String: Value] {
        let given = arguments ?? [:]
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidParams("\(tool) takes \(known.joined(separator: ", ")); '\(unknown)' is not one of them")
        }
        return given
    }

    private static func string(_ arguments: [String: Value], _ name: String, tool: String) throws(MCPError) -> String? {
        guard let value = arguments[name], !value.isNull else { return nil }
        guard let string = value.stringValue else { throw .invalidParams("\(tool) '\(name)' must be a string") }
        return string
    }

    private static func json(_ arguments: [String: Value]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(arguments)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A JSON text as a structured result.
    private static func decoded(_ json: String) -> Value? {
        try? JSONDecoder().decode(Value.self, from: Data(json.utf8))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as DesktopError: error.message
        case let error as SessionError: error.message
        case let error as ModelError: "the model failed: \(error.message)"
        case let error as ImagingError: error.message
        case let error as ModelSetupError: error.message
        case WaitInterrupted.timedOut(let message): message
        case WaitInterrupted.aborted: "aborted"
        default: "\(error)"
        }
    }
}
