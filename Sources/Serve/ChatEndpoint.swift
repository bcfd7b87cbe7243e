import Foundation
import Hummingbird
import Logging
import Models
import NIOCore
import Synchronization
import Units

/// `POST /v1/chat/completions` and `GET /v1/models`: the configured model behind OpenAI's API, one
/// request at a time. A client that goes away stops its generation at the next token: a streaming one
/// when a write fails, a waiting one when its connection's inbound side closes.
final class ChatEndpoint: Sendable {
    private let seats: ChatSeats
    private let files: UploadedFiles
    private let logger: Logger
    private let queue = TurnQueue()
    private let last = Mutex(LastReply())

    /// The latest reply's speed and fate, for the status line and for checking that a disconnect stopped it.
    struct LastReply: Encodable {
        var completionTokens: Int?
        var tokensPerSecond: Double?
        /// The client went away before the reply was complete, and generation was stopped.
        var stoppedByDisconnect = false

        enum CodingKeys: String, CodingKey {
            case completionTokens = "completion_tokens", tokensPerSecond = "tokens_per_second", stoppedByDisconnect = "stopped_by_disconnect"
        }
    }

    init(backend: ServeBackend, files: UploadedFiles, logger: Logger) {
        seats = ChatSeats(backend)
        self.files = files
        self.logger = logger
    }

    var lastReply: LastReply { last.withLock { $0 } }
    var waiting: Int { queue.waitingCount }

    func models() -> Response {
        JSONResponse.make(ModelList(data: seats.all.map { .init(id: $0.name, created: Self.startTime, variant: $0.variant) }))
    }

    /// The models for the status line and the page's Instruct/Thinking switch.
    struct Offered: Encodable {
        let name: String
        let variant: String
        let loaded: Bool
    }

    /// The KV caches of the loaded chat models together (task steps use the first one's too); nil when none keeps one here.
    var kvCacheBytes: Int? {
        let sizes = seats.all.compactMap(\.kvCacheBytes)
        return sizes.isEmpty ? nil : sizes.reduce(0, +)
    }

    var offered: [Offered] { seats.all.map { Offered(name: $0.name, variant: $0.variant, loaded: $0.isLoaded) } }

    private static let startTime = Int(Date().timeIntervalSince1970)

    func complete(_ request: Request, maxBodyBytes: Int) async -> Response {
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: maxBodyBytes) } catch { return JSONResponse.tooLarge(maxBodyBytes) }
        return await complete(body) { whole in
            // Nothing is written until the reply is whole, so only the closing connection tells that the client left.
            do {
                var response = try await request.body.consumeWithCancellationOnInboundClose { _ in await whole() }
                // Watching the connection this way ends it after the response (Hummingbird's rule): said in the
                // response, so a client does not send its next request on it and find it closed.
                response.headers[.connection] = "close"
                return response
            } catch {
                return JSONResponse.error(.serviceUnavailable, "the client went away", type: "server_error")
            }
        }
    }

    private func complete(_ body: ByteBuffer, untilClientLeaves: (_ whole: () async -> Response) async -> Response) async -> Response {
        let request: ChatCompletionRequest
        let conversation: [ChatMessage]
        let settings: GenerationSettings
        do {
            request = try JSONResponse.decoder.decode(ChatCompletionRequest.self, from: Data(body.readableBytesView))
        } catch {
            return JSONResponse.error(.badRequest, "the body is not a chat-completions request: \(JSONResponse.describe(error))")
        }
        do {
            conversation = try request.conversation(upload: files.image)
            settings = try request.settings()
        } catch {
            return error.notFound ? JSONResponse.error(.notFound, error.message, type: "not_found_error") : JSONResponse.error(.badRequest, error.message)
        }
        guard let seat = seats.seat(named: request.model) else {
            return JSONResponse.error(.notFound, "model '\(request.model ?? "")' is not served here; GET /v1/models lists "
                                      + seats.all.map { "'\($0.name)'" }.joined(separator: ", "), type: "not_found_error")
        }
        let reply = Reply(id: "chatcmpl-\(UUID().uuidString.lowercased())", created: Int(Date().timeIntervalSince1970), model: seat.name)
        let shaper = ReplyShaper(thinking: seat.thinks, stops: request.stop?.strings ?? [])
        if request.stream == true {
            let usage = request.streamOptions?.includeUsage == true
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { [self] writer in
                                try await stream(seat, conversation, settings: settings, shaper: shaper, reply: reply, usage: usage, to: &writer)
                                try await writer.finish(nil)
                            })
        }
        return await untilClientLeaves { await whole(seat, conversation, settings: settings, shaper: shaper, reply: reply) }
    }

    /// The fixed parts of every chunk of one reply.
    struct Reply {
        let id: String
        let created: Int
        let model: String

        func body(_ choice: ChatCompletionReply.Choice?, usage: ChatCompletionReply.Usage? = nil, chunk: Bool) -> ChatCompletionReply {
            ChatCompletionReply(id: id, object: chunk ? "chat.completion.chunk" : "chat.completion", created: created, model: model,
                                    choices: choice.map { [$0] } ?? [], usage: usage)
        }
    }

    private func stream(_ seat: ChatSeats.Seat, _ conversation: [ChatMessage], settings: GenerationSettings, shaper: ReplyShaper, reply: Reply, usage: Bool,
                        to writer: inout any ResponseBodyWriter) async throws {
        var shaper = shaper
        func send(_ body: some Encodable, to writer: inout any ResponseBodyWriter) async throws {
            try await writer.write(ByteBuffer(string: "data: " + JSONResponse.text(body) + "\n\n"))
        }
        func delta(_ piece: ReplyShaper.Piece) -> ChatCompletionReply {
            reply.body(.init(message: nil, delta: .init(content: piece.content.isEmpty ? nil : piece.content,
                                                        reasoningContent: piece.reasoning.isEmpty ? nil : piece.reasoning),
                             finishReason: nil), chunk: true)
        }
        try await queue.withTurn {
            var meter = Meter()
            var cost: ModelCall?
            var sentAll = false
            defer { record(meter, cost: cost, complete: sentAll) }
            try await send(reply.body(.init(message: nil, delta: .init(role: "assistant", content: ""), finishReason: nil), chunk: true), to: &writer)
            do {
                for try await event in try await seat.model().generate(conversation, settings: settings) {
                    switch event {
                    case .text(let text):
                        meter.text()
                        let piece = shaper.feed(text)
                        if !piece.isEmpty { try await send(delta(piece), to: &writer) }
                        if shaper.stopped { break }
                    case .cost(let call): cost = call
                    case .status: break
                    }
                    if shaper.stopped { break }
                }
            } catch let error as ModelError {
                try await send(ErrorBody("the model failed: \(error.message)", type: "server_error"), to: &writer)
                sentAll = true
                return
            }
            let rest = shaper.finish()
            if !rest.isEmpty { try await send(delta(rest), to: &writer) }
            let finish = shaper.stopped ? "stop" : (cost?.finish?.openAIReason ?? "stop")
            try await send(reply.body(.init(message: nil, delta: .init(), finishReason: finish), chunk: true), to: &writer)
            if usage {
                try await send(reply.body(nil, usage: .init(promptTokens: cost?.promptTokens ?? 0, completionTokens: cost?.completionTokens ?? meter.pieces),
                                          chunk: true), to: &writer)
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            sentAll = true
        }
    }

    private func whole(_ seat: ChatSeats.Seat, _ conversation: [ChatMessage], settings: GenerationSettings, shaper: ReplyShaper, reply: Reply) async -> Response {
        var shaper = shaper
        var text = ReplyShaper.Piece()
        do {
            return try await queue.withTurn {
                var meter = Meter()
                var cost: ModelCall?
                defer { record(meter, cost: cost, complete: !Task.isCancelled) }
                for try await event in try await seat.model().generate(conversation, settings: settings) {
                    if case .text(let piece) = event {
                        meter.text()
                        let out = shaper.feed(piece)
                        text.reasoning += out.reasoning
                        text.content += out.content
                        if shaper.stopped { break }
                    } else if case .cost(let call) = event {
                        cost = call
                    }
                }
                try Task.checkCancellation()
                let rest = shaper.finish()
                text.reasoning += rest.reasoning
                text.content += rest.content
                let message = ChatCompletionReply.Message(role: "assistant", content: text.content,
                                                           reasoningContent: seat.thinks ? text.reasoning : nil)
                let finish = shaper.stopped ? "stop" : (cost?.finish?.openAIReason ?? "stop")
                return JSONResponse.make(reply.body(.init(message: message, delta: nil, finishReason: finish),
                                                    usage: .init(promptTokens: cost?.promptTokens ?? 0, completionTokens: cost?.completionTokens ?? meter.pieces),
                                                    chunk: false))
            }
        } catch let error as ModelError {
            return JSONResponse.error(.badGateway, "the model failed: \(error.message)", type: "server_error")
        } catch {
            return JSONResponse.error(.serviceUnavailable, "the reply was not finished: \(error)", type: "server_error")
        }
    }

    private func record(_ meter: Meter, cost: ModelCall?, complete: Bool) {
        let tokens = cost?.completionTokens ?? meter.pieces
        last.withLock { last in
            last.completionTokens = tokens
            last.tokensPerSecond = meter.tokensPerSecond(tokens)
            last.stoppedByDisconnect = !complete
        }
        if !complete { logger.notice("chat reply stopped: the client went away", metadata: ["tokens": "\(tokens)"]) }
    }

    /// When the reply's text began and how many pieces came.
    private struct Meter {
        var first: ContinuousClock.Instant?
        var pieces = 0

        mutating func text() {
            if first == nil { first = .now }
            pieces += 1
        }

        func tokensPerSecond(_ tokens: Int) -> Double? {
            guard let first, tokens > 1 else { return nil }
            let seconds = (ContinuousClock.now - first).seconds
            return seconds > 0 ? Double(tokens - 1) / seconds : nil
        }
    }
}
