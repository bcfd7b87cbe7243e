import AsyncHTTPClient
public import Foundation
import Imaging
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Units

/// A vision-language model behind an OpenAI-compatible chat-completions server, so the agent can use
/// a GPU box (or a laptop running llama.cpp or Ollama) instead of the embedded engine.
///
/// Serving Qwen3-VL (the endpoint is the URL up to and including `/v1`):
///
///     vllm serve Qwen/Qwen3-VL-8B-Thinking --port 8000 --max-model-len 32768 --reasoning-parser qwen3
///         endpoint http://127.0.0.1:8000/v1, model Qwen/Qwen3-VL-8B-Thinking
///     python -m sglang.launch_server --model-path Qwen/Qwen3-VL-8B-Thinking --port 30000 --reasoning-parser qwen3
///         endpoint http://127.0.0.1:30000/v1, model Qwen/Qwen3-VL-8B-Thinking
///     llama-server -m Qwen3-VL-8B-Thinking-Q4_K_M.gguf --mmproj mmproj-Qwen3-VL-8B-Thinking-F16.gguf \
///         --port 8080 -c 32768 --jinja
///         endpoint http://127.0.0.1:8080/v1 (llama-server serves one model and ignores the name)
///     ollama run qwen3-vl
///         endpoint http://localhost:11434/v1, model qwen3-vl (no flags needed)
///
/// Whatever a server moves out of the text comes back into it (see `ReplyAssembler`): the reasoning
/// that a reasoning parser puts in its own field (vLLM and SGLang with `--reasoning-parser qwen3`,
/// llama-server with `--jinja`, Ollama always), and the tool calls that Ollama always (vLLM and
/// llama-server only when a request has tools) sends in `tool_calls`. The output reads like the
/// model's raw text either way; without a reasoning parser the reasoning simply stays in the text.
///
/// `maxThinkingTokens` has no server-side equivalent, so it is enforced here, and only when
/// streaming: once that many pieces of reasoning (roughly one token each) have arrived without a
/// `</think>`, the request is closed and the reasoning is closed for the model: a second request ends
/// the messages with an assistant message holding the reasoning and `\n</think>\n\n`, with
/// `continue_final_message: true, add_generation_prompt: false`, so the server writes only the answer.
/// vLLM and SGLang do this. Whether a server did is checked, not assumed: a reply with a `</think>` of
/// its own started afresh. A server that cannot (a 400, as llama-server answers, or a fresh reply) leaves
/// the reply cut inside the reasoning; `ModelCall.finish` tells which happened.
///
/// `timeout` is idle time: the longest wait for the next bytes. Without streaming, no bytes arrive
/// until the whole reply is written, so it must cover a whole generation. Waiting costs no CPU: the
/// requests run on SwiftNIO's shared event loops, which sleep in `epoll` until bytes or a timer come.
///
/// Failures that may pass (connection refused or lost; HTTP 408, 429, 500, 502, 503, 504) are retried
/// after 0.5 s, 1 s, 2 s… (or the server's `Retry-After`, up to 30 s), but only until the first text
/// reached the caller: a retry after that would repeat it. Each retry is announced as a `.status`.
///
/// The API key is sent only in the `Authorization` header, and never on a redirect (none is followed);
/// it is never logged, and it is blanked out of any server message quoted in an error.
public final class OpenAICompatibleModel: VisionLanguageModel {
    public let identity: ModelIdentity
    public let endpoint: URL
    public let model: String
    public let streaming: Bool
    public let timeout: Duration
    public let maxRetries: Int
    private let apiKey: String?
    private let logger: Logger
    /// One client for every request of this model: connections are reused between steps.
    private let client: HTTPClient
    private let completionsURL: URL
    /// The endpoint without credentials or query, for messages and logs.
    private let shownEndpoint: String

    static let longestRetryAfter = Duration.seconds(30)
    /// Bodies that are not event streams are read whole; a server that sends more is not well.
    static let largestBody = 64 << 20
    /// The statuses of a server that is busy, restarting or still loading; any other is final.
    static let passingStatuses: Set<UInt> = [408, 429, 500, 502, 503, 504]

    public init(endpoint: URL, model: String, apiKey: String? = nil, streaming: Bool = true,
                timeout: Duration = .seconds(120), maxRetries: Int = 3, logger: Logger) {
        self.endpoint = endpoint
        self.model = model
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.streaming = streaming
        self.timeout = timeout
        self.maxRetries = max(0, maxRetries)
        self.logger = logger
        completionsURL = endpoint.appendingPathComponent("chat/completions")
        shownEndpoint = Self.displayed(endpoint)
        identity = ModelIdentity(kind: .served, name: "\(model) @ \(shownEndpoint)")

        var configuration = HTTPClient.Configuration()
        // `read` is idle time, headers included: the event loop's timer restarts with every read.
        configuration.timeout = .init(connect: .seconds(10), read: .nanoseconds(Int64(clamping: timeout.nanoseconds)))
        // A refused connection fails the request at once; the retries above are this class's own.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration,
                            backgroundActivityLogger: logger)
    }

    deinit {
        // Without blocking (the last reference may go in async code); the event loops are shared and stay.
        client.shutdown { _ in }
    }

    public func generate(_ conversation: [ChatMessage], settings: GenerationSettings) -> AsyncThrowingStream<ModelEvent, any Error> {
        let (stream, output) = AsyncThrowingStream.makeStream(of: ModelEvent.self)
        let task = Task {
            do {
                try await run(conversation, settings, output)
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        // The consumer cancelled or dropped the stream: stop the request, not just the reading.
        output.onTermination = { _ in task.cancel() }
        return stream
    }

    private typealias Output = AsyncThrowingStream<ModelEvent, any Error>.Continuation

    /// What one request brought back.
    private struct Answer {
        var assembler: ReplyAssembler
        var finishReason: String?
        var usage: ChatCompletionReply.Usage?
        /// `[DONE]` or a `finish_reason` arrived: the reply is complete even if the connection drops.
        var sawEnd = false
    }

    private enum Outcome {
        case finished
        case retry(reason: String, retryAfter: Duration?)
    }

    private func run(_ conversation: [ChatMessage], _ settings: GenerationSettings, _ output: Output) async throws {
        let body = try ChatCompletionRequest(model: model, conversation: conversation, settings: settings, stream: streaming)
        let images = conversation.reduce(0) { count, message in
            count + message.content.count { if case .image = $0 { true } else { false } }
        }
        let budget = streaming ? settings.maxThinkingTokens : nil
        let reply = try await send(body, .reply(thinkingBudget: budget), output, passingOn: true)
        var call = ModelCall(promptTokens: reply.usage?.promptTokens, completionTokens: reply.usage?.completionTokens, images: images,
                             finish: reply.finishReason == "length" ? .length : .stop)
        if let budget, reply.assembler.budgetSpent {
            let (finish, usage) = try await closeReasoning(body, reply, budget: budget, output)
            call.finish = finish
            // The continuation's prompt holds the reasoning; its counts stand for the whole reply.
            if let usage { (call.promptTokens, call.completionTokens) = (usage.promptTokens, usage.completionTokens) }
        }
        output.yield(.cost(call))
    }

    /// Asks the server to write the answer after the reasoning, closed at its budget; how the reply ended.
    private func closeReasoning(_ body: ChatCompletionRequest, _ reply: Answer, budget: Int, _ output: Output) async throws
        -> (ModelCall.Finish, ChatCompletionReply.Usage?)
    {
        logger.debug("the reasoning used its budget without reaching </think>; asking for the answer",
                     metadata: ["endpoint": "\(shownEndpoint)", "pieces": "\(reply.assembler.thinkingPieces)"])
        output.yield(.status("the reasoning reached its budget of \(budget) tokens; asking for the answer"))
        // The chat templates strip the reasoning's outer newlines; the server finds the message again only if it has none.
        let reasoning = reply.assembler.text.drop { $0.isNewline }
        let request = body.continuing(reasoning + ReplyAssembler.reasoningEnd, used: reply.assembler.thinkingPieces)
        let answer: Answer
        do {
            answer = try await send(request, .continuation, output, passingOn: false)
        } catch let error as ModelError where error.code == .rejected {
            logger.debug("the server refused to continue the reply", metadata: ["reason": "\(error.message)"])
            return (.thinkingCut, nil)
        }
        guard !answer.assembler.startedNewReply else {
            logger.debug("the server started a new reply instead of continuing", metadata: ["endpoint": "\(shownEndpoint)"])
            return (.thinkingCut, answer.usage)
        }
        output.yield(.text(ReplyAssembler.reasoningEnd + answer.assembler.text))
        return (.thinkingClosed, answer.usage)
    }

    /// Sends `body` until it gets a reply or a failure that is not worth another attempt. With
    /// `passingOn`, text goes to `output` as it arrives; otherwise it stays in the answer's assembler.
    private func send(_ body: ChatCompletionRequest, _ mode: ReplyAssembler.Mode, _ output: Output, passingOn: Bool) async throws -> Answer {
        let json: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            json = try encoder.encode(body)
        } catch {
            throw failure(.rejected, "the request cannot be written as JSON (is a generation setting NaN or infinite?): \(error)")
        }
        logger.debug("chat completion request", metadata: [
            "endpoint": "\(shownEndpoint)", "model": "\(model)", "stream": "\(streaming)", "messages": "\(body.messages.count)",
            "bytes": "\(json.count)",
        ])
        var attempt = 1
        while true {
            output.yield(.status("waiting for \(shownEndpoint)"))
            var answer = Answer(assembler: ReplyAssembler(mode))
            switch try await exchange(ByteBuffer(bytes: json), &answer, passingOn ? output : nil) {
            case .finished:
                logger.debug("chat completion finished", metadata: ["attempts": "\(attempt)", "finish": "\(answer.finishReason ?? "none")"])
                return answer
            case .retry(let reason, let retryAfter):
                guard attempt <= maxRetries else {
                    throw failure(.unavailable, "\(shownEndpoint) is unavailable after \(attempt) attempts: \(reason)")
                }
                let delay = retryAfter.map { min($0, Self.longestRetryAfter) }
                    ?? min(.milliseconds(500) * (1 << min(attempt - 1, 16)), Self.longestRetryAfter)
                logger.debug("chat completion failed; retrying", metadata: [
                    "endpoint": "\(shownEndpoint)", "reason": "\(redacted(reason))", "attempt": "\(attempt)", "delay": "\(delay)",
                ])
                attempt += 1
                output.yield(.status(redacted("\(reason); retrying in \(Self.seconds(delay)) (attempt \(attempt) of \(maxRetries + 1))")))
                try await Task.sleep(for: delay)
            }
        }
    }

    /// One HTTP request and its reply; text goes to `output` when there is one.
    private func exchange(_ json: ByteBuffer, _ answer: inout Answer, _ output: Output?) async throws -> Outcome {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: streaming ? "text/event-stream" : "application/json")
        if let apiKey { headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: completionsURL.absoluteString, method: .POST, headers: headers, body: .byteBuffer(json))
        } catch {
            throw failure(.rejected, "\(shownEndpoint) is not a URL this client can send to: \(error)")
        }
        let (response, task) = StreamedResponse.start(request, on: client, logger: logger)
        // Also closes the request when the reply ends early ([DONE] read, budget spent, error).
        defer { task.cancel() }

        var head: HTTPResponseHead?
        var isEventStream = false
        var events = ServerSentEventReader()
        var body = ByteBuffer()
        do {
            // True when the reply is over before the response ends.
            let over = try await withTaskCancellationHandler {
                for try await event in response.events {
                    switch event {
                    case .head(let received):
                        head = received
                        // Error bodies, and a server that ignores `stream`, come as one JSON document.
                        isEventStream = streaming && received.status == .ok
                            && (received.headers.first(name: "Content-Type").map { $0.lowercased().contains("event-stream") } ?? true)
                    case .body(var piece):
                        if isEventStream {
                            for event in try events.feed(piece.readableBytesView) where try handle(event, &answer, output) { return true }
                        } else {
                            guard body.readableBytes + piece.readableBytes <= Self.largestBody else {
                                throw failure(.badResponse, "\(shownEndpoint) sent a reply larger than 64 MB")
                            }
                            body.writeBuffer(&piece)
                        }
                    }
                }
                return false
            } onCancel: {
                task.cancel()
            }
            if over { return .finished }
        } catch is ServerSentEventReader.TooLong {
            throw failure(.badResponse, "\(shownEndpoint) sent an event-stream line longer than 16 MB")
        } catch let error as ModelError {
            throw error
        } catch {
            if answer.sawEnd && !Task.isCancelled && !Self.isTimeout(error) { return .finished }
            return try brokenOff(error, answer, passedOn: output != nil && !answer.assembler.text.isEmpty)
        }
        if Task.isCancelled { throw CancellationError() }
        if answer.sawEnd { return .finished }
        guard let head else { throw failure(.badResponse, "\(shownEndpoint) closed the connection without an HTTP response") }
        guard isEventStream else {
            return try conclude(head.status.code, retryAfter: head.headers.first(name: "Retry-After"), Data(body.readableBytesView), &answer, output)
        }
        do {
            if let last = try events.finish(), try handle(last, &answer, output) { return .finished }
        } catch is ServerSentEventReader.TooLong {
            throw failure(.badResponse, "\(shownEndpoint) sent an event-stream line longer than 16 MB")
        }
        if answer.sawEnd { return .finished }
        throw failure(.badResponse, answer.assembler.text.isEmpty
            ? "the event stream from \(shownEndpoint) ended before [DONE] without any text"
            : "the event stream from \(shownEndpoint) ended before [DONE]: the reply is truncated")
    }

    /// Reads one event of the stream; true when the reply is over.
    private func handle(_ data: String, _ answer: inout Answer, _ output: Output?) throws -> Bool {
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            pass(answer.assembler.finish(), to: output)
            answer.sawEnd = true
            return true
        }
        let chunk: ChatCompletionReply
        do {
            chunk = try ChatCompletionReply.decode(Data(data.utf8))
        } catch {
            throw failure(.badResponse, "\(shownEndpoint) sent a stream event that is not a chat-completion chunk: \(excerpt(Data(data.utf8)))")
        }
        if let usage = chunk.usage { answer.usage = usage }
        guard let choice = chunk.choices?.first else {
            if chunk.choices == nil, let message = serverErrorMessage(in: Data(data.utf8)) {
                throw failure(.unavailable, "\(shownEndpoint) reported an error in the event stream: \(message)")
            }
            return false  // e.g. the usage summary sent last
        }
        if let message = choice.text { pass(answer.assembler.add(message), to: output) }
        if let reason = choice.finishReason {
            answer.finishReason = reason
            answer.sawEnd = true
            pass(answer.assembler.finish(), to: output)
        }
        return answer.assembler.budgetSpent
    }

    private func pass(_ text: String, to output: Output?) {
        if let output, !text.isEmpty { output.yield(.text(text)) }
    }

    /// Decides what a finished body that is not an event stream means.
    private func conclude(_ status: UInt, retryAfter: String?, _ body: Data, _ answer: inout Answer, _ output: Output?) throws -> Outcome {
        let detail = serverErrorMessage(in: body).map { ": \($0)" } ?? ""
        switch status {
        case 200:
            try read(body, &answer, output)
            return .finished
        case _ where Self.passingStatuses.contains(status):
            let wait = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { Duration.seconds(max(0, $0)) }
            return .retry(reason: "the server answered HTTP \(status)\(detail)", retryAfter: wait)
        case 404 where detail.isEmpty || !endpoint.path.hasSuffix("/v1"):
            var example = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) ?? URLComponents()
            (example.user, example.password, example.query, example.path) = (nil, nil, nil, "/v1")
            throw failure(.rejected, "\(shownEndpoint) answered 404 for \(completionsURL.path)\(detail); the endpoint usually ends in /v1 "
                + "(e.g. \(example.string ?? "http://host:port/v1"))")
        case 400...499:
            throw failure(.rejected, "\(shownEndpoint) rejected the request (HTTP \(status))\(detail)")
        default:
            throw failure(.badResponse, "\(shownEndpoint) answered HTTP \(status)\(detail)")
        }
    }

    /// Reads a whole (non-streamed) reply.
    private func read(_ body: Data, _ answer: inout Answer, _ output: Output?) throws {
        guard (try? JSONSerialization.jsonObject(with: body)) != nil else {
            throw failure(.badResponse, "\(shownEndpoint) answered with a body that is not JSON: \(excerpt(body))")
        }
        let decoded: ChatCompletionReply
        do {
            decoded = try ChatCompletionReply.decode(body)
        } catch {
            throw failure(.badResponse, "\(shownEndpoint) answered JSON that is not a chat completion: \(excerpt(body))")
        }
        guard let choice = decoded.choices?.first else {
            let detail = serverErrorMessage(in: body).map { ": \($0)" } ?? ": \(excerpt(body))"
            throw failure(.badResponse, "\(shownEndpoint) answered without any choices\(detail)")
        }
        answer.usage = decoded.usage
        answer.finishReason = choice.finishReason
        pass((choice.text.map { answer.assembler.add($0) } ?? "") + answer.assembler.finish(), to: output)
    }

    /// What a transfer that failed means: cancelled, timed out, worth another attempt, or over.
    private func brokenOff(_ error: any Error, _ answer: Answer, passedOn: Bool) throws -> Outcome {
        if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled { throw CancellationError() }
        if Self.isTimeout(error) { throw timedOut() }
        let (reason, passing) = Self.describe(error)
        if passedOn {
            throw failure(.badResponse, "the reply from \(shownEndpoint) broke off before it was complete (\(reason)); the server may have crashed or restarted")
        }
        guard passing else { throw failure(.unavailable, "cannot get a reply from \(shownEndpoint): \(reason)") }
        return .retry(reason: reason, retryAfter: nil)
    }

    private static func isTimeout(_ error: any Error) -> Bool {
        (error as? HTTPClientError) == .readTimeout
    }

    private func timedOut() -> ModelError {
        failure(.timedOut, "\(shownEndpoint) sent nothing for \(Self.seconds(timeout)); "
            + "it may be overloaded or still loading the model (a longer timeout helps if replies are just slow to start)")
    }

    /// A failed connection in a few words, and whether it may pass.
    private static func describe(_ error: any Error) -> (reason: String, passing: Bool) {
        switch error {
        case let error as NIOConnectionError:
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty { return ("unknown host", false) }
            return error.connectionErrors.last.map { describe($0.error) } ?? ("cannot connect", true)
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return ("cannot connect (is the server running, on that port?)", true)
        case let error as IOError where [ECONNRESET, EPIPE, ECONNABORTED].contains(error.errnoCode):
            return ("the server closed the connection", true)
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            return ("the server closed the connection", true)
        case let error as HTTPClientError where error == .connectTimeout:
            return ("the connection timed out", true)
        case is ChannelError:
            return ("the server closed the connection", true)
        default:
            return ("\(error)", false)
        }
    }

    /// Every error goes through here, so no server message can carry the key out.
    private func failure(_ code: ModelError.Code, _ message: String) -> ModelError {
        ModelError(code, redacted(message.replacingOccurrences(of: "\n", with: " ")))
    }

    private func redacted(_ text: String) -> String {
        guard let apiKey else { return text }
        return text.replacingOccurrences(of: apiKey, with: "[API key]")
    }

    /// The start of a body, on one line, for an error message.
    private func excerpt(_ data: Data) -> String {
        let text = String(decoding: data.prefix(160), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            .trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return "(empty)" }
        return data.count > 160 ? "\(text)…" : text
    }

    /// "0.5 s", "2 s".
    private static func seconds(_ duration: Duration) -> String {
        String(format: "%g s", duration.seconds)
    }

    private static func displayed(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false),
              components.user != nil || components.password != nil || components.query != nil
        else { return url.absoluteString }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? url.absoluteString
    }
}

