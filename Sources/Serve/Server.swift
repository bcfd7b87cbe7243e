public import Agent
public import AgentCore
public import Foundation
import Hummingbird
import Imaging
public import Logging
public import Models
import Dispatch
import NIOCore
import ServerSupport
import Units

/// Where and how `serve` listens.
public struct ServeSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Required of every request when set; `serve` sets one for any address but loopback.
    public var token: String?
    /// The X display tasks run on (nil: `$DISPLAY`).
    public var display: String?
    /// Where task sessions are written and the Sessions tab reads them.
    public var sessionsFolder = SessionRecorder.defaultSessionsFolder
    /// The largest request body (a chat message with its images).
    public var maxUploadBytes = 20 << 20

    public init() {}

    /// Whether `host` only takes connections from this machine.
    public static func isLoopback(_ host: String) -> Bool { ListenAddress.isLoopback(host) }
}

/// The models the server answers with; the CLI builds them from its model options.
public struct ServeBackend: Sendable {
    /// The model behind `/v1/chat/completions`, and the name clients ask for it by.
    public var chatModel: any VisionLanguageModel
    public var chatModelName: String
    /// Whether its replies begin with reasoning that `</think>` closes (a Thinking model).
    public var chatThinks: Bool
    /// The step models of a task with this profile (nil: the one serve was started with). The error's
    /// description is the one line a client is told.
    public var stepModels: @Sendable (_ profile: String?) throws -> StepModels
    /// The profiles the page offers, the default first.
    public var profiles: [String]
    /// Models a chat request may name besides `chatModel` (`--thinking-model`).
    public var moreChatModels: [ChatModelOffer]

    public init(chatModel: any VisionLanguageModel, chatModelName: String, chatThinks: Bool,
                stepModels: @escaping @Sendable (String?) throws -> StepModels, profiles: [String], moreChatModels: [ChatModelOffer] = []) {
        self.moreChatModels = moreChatModels
        self.chatModel = chatModel
        self.chatModelName = chatModelName
        self.chatThinks = chatThinks
        self.stepModels = stepModels
        self.profiles = profiles
    }
}

/// `qwen-agent serve`: the web page, the task and session API and the OpenAI-compatible endpoint.
public struct AgentServer: Sendable {
    let settings: ServeSettings
    let backend: ServeBackend
    let logger: Logger

    public init(settings: ServeSettings, backend: ServeBackend, logger: Logger) {
        self.settings = settings
        self.backend = backend
        self.logger = logger
    }

    /// Hummingbird's own log: everything with --verbose; otherwise only failures of the server itself,
    /// not the connections cut when Ctrl-C stops it.
    private static func serverLogger(_ logger: Logger) -> Logger {
        var quiet = logger
        if logger.logLevel > .info { quiet.logLevel = .critical }
        return quiet
    }

    /// Serves until SIGINT or SIGTERM; `running` hears the port bound (useful with port 0).
    public func run(running: @escaping @Sendable (_ port: Int) -> Void) async throws {
        let port = AccessCheck<BasicRequestContext>.Port()
        let tasks = TaskHub(backend: backend, settings: settings, logger: logger)
        let router = Router()
        router.add(middleware: AccessCheck(token: settings.token, port: port) { refusal, message in
            switch refusal {
            case .unauthorized: JSONResponse.error(.unauthorized, message, type: "authentication_error")
            case .forbidden: JSONResponse.error(.forbidden, message, type: "permission_error")
            }
        })
        let files = UploadedFiles(fileLimit: settings.maxUploadBytes)
        Routes(settings: settings, backend: backend, tasks: tasks, chat: ChatEndpoint(backend: backend, files: files, logger: logger), files: files,
               sessions: SessionShelf(root: settings.sessionsFolder), logger: logger).add(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "qwen-agent"),
                              onServerRunning: { channel in
                                  let bound = channel.localAddress?.port ?? settings.port
                                  port.set(bound)
                                  running(bound)
                              }, logger: Self.serverLogger(logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            group.addTask { await StopSignal.next() }
            try await group.next()
            group.cancelAll()
        }
        await tasks.abortAllAndWait()
    }
}

/// The routes, each a few lines over the parts that do the work.
struct Routes: Sendable {
    let settings: ServeSettings
    let backend: ServeBackend
    let tasks: TaskHub
    let chat: ChatEndpoint
    let files: UploadedFiles
    let sessions: SessionShelf
    let logger: Logger

    /// Bodies of the task API: a task and its options, or an approval.
    static let smallBodyLimit = 64 << 10

    func add(to router: Router<BasicRequestContext>) {
        for asset in WebAssets.all {
            router.get(RouterPath(asset.path)) { _, _ in
                Response(status: .ok, headers: [.contentType: asset.contentType, .contentSecurityPolicy: WebAssets.contentSecurityPolicy,
                                                .cacheControl: "no-cache"],
                         body: ResponseBody(byteBuffer: ByteBuffer(string: asset.text)))
            }
        }
        router.get("/v1/models") { _, _ in chat.models() }
        router.post("/v1/chat/completions") { request, _ in await chat.complete(request, maxBodyBytes: settings.maxUploadBytes) }
        addFileRoutes(to: router)
        router.get("/api/status") { _, _ in JSONResponse.make(status()) }
        router.get("/api/display/screenshot") { _, _ in
            do {
                return png(try DisplaySnapshot.capture(display: settings.display, logger: logger))
            } catch {
                return JSONResponse.error(.serviceUnavailable, "cannot capture the display: \(error)", type: "display_error")
            }
        }
        addTaskRoutes(to: router)
        router.get("/api/sessions") { _, _ in JSONResponse.make(sessions.list()) }
        router.get("/api/sessions/:name/report") { _, context in
            guard let name = context.parameters.get("name"), let html = sessions.report(named: name) else {
                return JSONResponse.error(.notFound, "no such session in \(settings.sessionsFolder.path); GET /api/sessions lists them",
                                          type: "not_found_error")
            }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
        }
        router.post("/api/sessions/:name/dry-run") { _, context in
            guard let name = context.parameters.get("name"), let folder = sessions.folder(named: name) else {
                return JSONResponse.error(.notFound, "no such session in \(settings.sessionsFolder.path); GET /api/sessions lists them",
                                          type: "not_found_error")
            }
            switch await SessionDryRun.run(folder, name: name, display: settings.display, logger: logger) {
            case .success(let report): return JSONResponse.make(report)
            case .failure(let failure):
                return failure.displayProblem ? JSONResponse.error(.serviceUnavailable, failure.message, type: "display_error")
                    : JSONResponse.error(.unprocessableContent, failure.message)
            }
        }
    }

    private func addTaskRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/tasks") { request, _ in
            switch await JSONResponse.decode(TaskRequest.self, from: request, limit: Self.smallBodyLimit, what: "a task ({\"task\": \"…\"})") {
            case .failure(let failure): return failure.response
            case .success(let body):
                do {
                    return JSONResponse.make(try tasks.start(body).summary, status: .created)
                } catch TaskRefusal.badRequest(let message) {
                    return JSONResponse.error(.badRequest, message)
                } catch TaskRefusal.conflict(let message) {
                    return JSONResponse.error(.conflict, message, type: "conflict_error")
                }
            }
        }
        router.get("/api/tasks") { _, _ in JSONResponse.make(tasks.all.map(\.summary)) }
        router.get("/api/tasks/:id") { _, context in
            withTask(context) { JSONResponse.make($0.summary) }
        }
        router.get("/api/tasks/:id/events") { request, context in
            withTask(context) { task in
                let after = request.headers.first { $0.name.canonicalName == "last-event-id" }.flatMap { Int($0.value) } ?? 0
                return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                                body: ResponseBody { writer in
                                    try await EventStream.send(task, after: after, to: &writer)
                                    try await writer.finish(nil)
                                })
            }
        }
        router.get("/api/tasks/:id/screenshot") { _, context in
            withTask(context) { task in
                guard let picture = task.picture() else {
                    return JSONResponse.error(.notFound, "task \(task.id) has no screenshot yet; wait for its screenshot event", type: "not_found_error")
                }
                return png(picture)
            }
        }
        router.post("/api/tasks/:id/abort") { _, context in
            withTask(context) { task in
                task.abort()
                return JSONResponse.make(task.summary)
            }
        }
        router.post("/api/tasks/:id/approve") { request, context in
            struct Approval: Decodable { let decision: ApprovalDecision }
            let decoded = await JSONResponse.decode(Approval.self, from: request, limit: Self.smallBodyLimit,
                                                    what: "an approval ({\"decision\": \"approve\" | \"approve_all\" | \"skip\" | \"stop\"})")
            return withTask(context) { task in
                switch decoded {
                case .failure(let failure): return failure.response
                case .success(let approval):
                    guard task.answer(approval.decision) else {
                        return JSONResponse.error(.conflict, "task \(task.id) is not waiting for an approval (start it with \"confirm\": true)",
                                                  type: "conflict_error")
                    }
                    return JSONResponse.make(task.summary)
                }
            }
        }
    }

    private func addFileRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/files") { request, _ in
            // The parts around the file (boundaries, the purpose field) are allowed a little room past the limit.
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: settings.maxUploadBytes + Self.smallBodyLimit) } catch {
                return JSONResponse.tooLarge(settings.maxUploadBytes)
            }
            do throws(UploadProblem) {
                return JSONResponse.make(try files.add(multipart: Array(body.readableBytesView), contentType: request.headers[.contentType]))
            } catch {
                let status: HTTPResponse.Status = switch error.status {
                case .badRequest: .badRequest
                case .unsupportedMediaType: .unsupportedMediaType
                case .contentTooLarge: .contentTooLarge
                }
                return JSONResponse.error(status, error.message)
            }
        }
        router.get("/v1/files") { _, _ in JSONResponse.make(UploadedFiles.Listing(data: files.all)) }
        router.get("/v1/files/:id") { _, context in
            guard let id = context.parameters.get("id"), let entry = files.entry(id) else { return noSuchFile() }
            return JSONResponse.make(entry)
        }
        router.delete("/v1/files/:id") { _, context in
            guard let id = context.parameters.get("id"), files.remove(id) else { return noSuchFile() }
            return JSONResponse.make(UploadedFiles.Deleted(id: id))
        }
    }

    private func noSuchFile() -> Response {
        JSONResponse.error(.notFound, "no such file; GET /v1/files lists the uploads, POST /v1/files adds one", type: "not_found_error")
    }

    private func withTask(_ context: BasicRequestContext, _ body: (AgentTask) -> Response) -> Response {
        guard let id = context.parameters.get("id"), let task = tasks.task(id) else {
            return JSONResponse.error(.notFound, "no such task; GET /api/tasks lists them", type: "not_found_error")
        }
        return body(task)
    }

    private func png(_ image: RGBImage) -> Response {
        do {
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "no-cache"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try PNG.encode(image))))
        } catch {
            return JSONResponse.error(.internalServerError, "cannot encode the screenshot: \(error.message)", type: "server_error")
        }
    }

    /// `GET /api/status`: the status line of the page.
    struct Status: Encodable {
        let model: String
        let backend: String
        /// Whether the chat model's replies begin with reasoning.
        let thinks: Bool
        let residentMemoryBytes: Int?
        let kvCacheBytes: Int?
        let last: ChatEndpoint.LastReply
        let waiting: Int
        /// Every chat model, the first the one serve started with.
        let models: [ChatEndpoint.Offered]
        let profiles: [String]
        let display: String

        enum CodingKeys: String, CodingKey {
            case model, backend, thinks, last, waiting, profiles, display, models
            case residentMemoryBytes = "resident_memory_bytes", kvCacheBytes = "kv_cache_bytes"
        }
    }

    private func status() -> Status {
        Status(model: backend.chatModelName, backend: backend.chatModel.identity.kind.rawValue, thinks: backend.chatThinks,
               residentMemoryBytes: Self.residentMemory(), kvCacheBytes: chat.kvCacheBytes,
               last: chat.lastReply, waiting: chat.waiting, models: chat.offered, profiles: backend.profiles, display: tasks.displayName)
    }

    /// The process's resident set, from /proc/self/statm.
    static func residentMemory() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// A task's events as Server-Sent Events: the ones so far, then each as it happens, until the outcome.
/// A comment line every few seconds keeps proxies from closing the stream and finds clients that left
/// (their connection is let go at the next one: the server reads nothing from a client while streaming).
enum EventStream {
    static let keepAlive: Duration = .seconds(5)

    static func send(_ task: AgentTask, after: Int, to writer: inout any ResponseBodyWriter) async throws {
        let (past, future) = task.listen()
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        for event in past where event.seq > after { try await writer.write(frame(event)) }
        guard let future else { return }
        // Events and keep-alives merge into one sequence, written from this task only.
        let (lines, output) = AsyncStream.makeStream(of: ByteBuffer.self)
        let pump = Task {
            for await event in future where event.seq > after { output.yield(frame(event)) }
            output.finish()
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                output.yield(ByteBuffer(string: ": keep-alive\n\n"))
            }
        }
        defer {
            pump.cancel()
            ticker.cancel()
        }
        for await line in lines { try await writer.write(line) }
    }

    static func frame(_ event: TaskEvent) -> ByteBuffer {
        ByteBuffer(string: "id: \(event.seq)\ndata: \(JSONResponse.text(event))\n\n")
    }
}
