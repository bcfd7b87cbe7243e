import Agent
import AgentCore
import ArgumentParser
import Desktop
import EmbeddedModel
import Foundation
import Logging
import Models
import Qwen3VL
import Serve
import ServerSupport
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a web page and an HTTP API for the agent, and the model as an OpenAI-compatible endpoint.",
        discussion: """
            Open the printed URL: the Agent tab starts tasks on the display and shows the screenshots, the \
            streamed reasoning, the planned actions and the outcome (with Approve / Skip / Stop in confirm \
            mode); the Chat tab asks the model about an image; the Sessions tab opens past runs' reports. \
            Scripts use POST /api/tasks, GET /api/tasks/{id}/events (Server-Sent Events) and \
            POST /v1/chat/completions (any OpenAI client); README.md, "Serve", has curl examples.

            Binds to loopback by default. Any other --host needs a token (--token, or one is generated and \
            printed): every request without it gets 401. Requests from pages of other origins get 403. \
            Ctrl-C stops the server; a running task is aborted first, its keys and buttons released.
            """)

    @Option(help: ArgumentHelp("The address to listen on (anything but loopback needs a token).", valueName: "address"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The port (0: any free one; the URL printed says which).", valueName: "n"))
    var port = 8080

    @Option(help: ArgumentHelp("The token every request must carry (default for a non-loopback --host: a new random one, printed).",
                               valueName: "secret"))
    var token: String?

    @OptionGroup var model: ModelOptions
    @OptionGroup var desktop: DesktopOptions

    @Option(help: ArgumentHelp("Where tasks write their sessions and the Sessions tab reads them (default: $XDG_DATA_HOME/qwen-agent/sessions).",
                               valueName: "dir"))
    var sessions: String?

    @Option(help: ArgumentHelp("The largest request body, in MB (a chat message with its images).", valueName: "MB"))
    var maxUploadMb = 20

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be from 0 to 65535, not \(port)") }
        if maxUploadMb < 1 { throw ValidationError("--max-upload-mb must be at least 1") }
        if let token, token.count < 8 || token.contains(where: { $0.isWhitespace || $0 == ";" || $0 == "," }) {
            throw ValidationError("--token must be at least 8 characters without spaces, commas or semicolons")
        }
    }

    func run() async throws {
        let logger = desktop.makeLogger()
        let profile = try model.loadProfile()
        let chat = try model.makeModel(timeout: profile.stepTimeoutSeconds, logger: logger)
        var settings = ServeSettings()
        settings.host = host
        settings.port = port
        settings.display = desktop.display
        settings.maxUploadBytes = maxUploadMb << 20
        if let sessions { settings.sessionsFolder = URL(fileURLWithPath: sessions) }
        settings.token = token ?? (ServeSettings.isLoopback(host) ? nil : ListenAddress.newToken())
        let name = servedName(chat)
        let backend = ServeBackend(chatModel: chat, chatModelName: name, chatThinks: Self.thinks(chat, profile: profile),
                                   stepModels: { [cache = StepModelCache(options: model, chat: chat, logger: logger)] in try cache.models(profile: $0) },
                                   profiles: Self.profiles(first: model.agent), moreChatModels: try secondModel(logger: logger))
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let token = settings.token
        let identity = chat.identity
        do {
            try await AgentServer(settings: settings, backend: backend, logger: logger).run { bound in
                let url = "http://\(shownHost == "0.0.0.0" ? "127.0.0.1" : shownHost):\(bound)/" + (token.map { "?token=\($0)" } ?? "")
                print("qwen-agent serve: \(url)")
                print("model: \(identity)  (OpenAI API: http://\(shownHost):\(bound)/v1, model \"\(name)\")")
                print("press Ctrl-C to stop")
                fflush(nil)
            }
        } catch {
            try fail("cannot serve on \(host):\(port): \(error); is another server using the port? (--port 0 picks a free one)", status: 1)
        }
        print("stopped")
    }

    /// `--thinking-model`: the chat's other model. A folder's variant is read from its template, and it
    /// is loaded when a chat request first names it; a name on a server is taken to be a Thinking model.
    private func secondModel(logger: Logger) throws -> [ChatModelOffer] {
        guard let other = model.thinkingModel, model.transcript == nil else { return [] }
        if model.endpoint != nil {
            var options = model
            options.model = other
            options.endpoint = model.thinkingEndpoint ?? model.endpoint
            let served = try options.makeModel(timeout: try model.loadProfile().stepTimeoutSeconds, logger: logger)
            return [ChatModelOffer(name: other, thinks: true) { served }]
        }
        let folder = try ModelLocation.resolve(other)
        let tokenizer = model.tokenizer.map { URL(fileURLWithPath: $0) }
        let thinks: Bool
        do { thinks = try EmbeddedModel.isThinking(folder: folder, tokenizerFolder: tokenizer) } catch { try fail(error.message, status: ExitStatus.dataError) }
        let precision = model.precision ?? .fastest, weights = model.weights ?? .fastest, promptFiles = model.promptFilesFolder
        return [ChatModelOffer(name: folder.lastPathComponent, thinks: thinks) { () throws(ModelError) in
            try EmbeddedModel(folder: folder, tokenizerFolder: tokenizer, precision: precision, weights: weights, promptFiles: promptFiles,
                              logger: logger) { files in
                announceQuantizing(folder, weights, files: files)
            }
        }]
    }

    /// The name `/v1/models` gives the model: a folder's last component, a served model's name, or the transcript's file name.
    private func servedName(_ chat: any VisionLanguageModel) -> String {
        switch chat.identity.kind {
        case .embedded, .scripted: URL(fileURLWithPath: chat.identity.name).lastPathComponent
        case .served: model.model ?? chat.identity.name
        }
    }

    private static func thinks(_ model: any VisionLanguageModel, profile: Profile) -> Bool {
        (model as? EmbeddedModel)?.isThinking ?? (profile.shape == .thinking)
    }

    private static func profiles(first: String) -> [String] {
        var names = [first]
        for name in ["desktop-thinking", "desktop-instruct", "auto"] where !names.contains(name) { names.append(name) }
        return names
    }
}

/// The models of a task for each profile, made once: an embedded engine is loaded once and shared
/// with the chat endpoint, if there is one (a router profile needs its own two); a transcript starts
/// afresh for each task.
final class StepModelCache: Sendable {
    private let options: ModelOptions
    private let chat: (any VisionLanguageModel)?
    private let logger: Logger
    private let made = Mutex<[String: StepModels]>([:])

    init(options: ModelOptions, chat: (any VisionLanguageModel)?, logger: Logger) {
        self.options = options
        self.chat = chat
        self.logger = logger
    }

    func models(profile name: String?) throws -> StepModels {
        var options = options
        if let name { options.agent = name }
        // Checked first so a bad name is the error's one line, not a message on the server's stderr.
        let router = try RouterProfile.load(options.agent)
        if router == nil { _ = try Profile.load(options.agent) }
        if options.transcript != nil { return try options.makeStepModels(logger: logger) }
        if let known = made.withLock({ $0[options.agent] }) { return known }
        let models: StepModels
        if router == nil, let chat = chat as? EmbeddedModel {
            models = .one(ModelSeat(profile: try options.loadProfile(), model: chat))
        } else {
            models = try options.makeStepModels(logger: logger)
        }
        made.withLock { $0[options.agent] = models }
        return models
    }
}
