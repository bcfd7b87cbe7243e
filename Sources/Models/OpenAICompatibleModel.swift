public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Imaging
public import Logging

/// A vision-language model behind an OpenAI-compatible chat-completions server, so the agent can use
/// a GPU box (or a laptop running llama.cpp or Ollama) instead of the embedded engine.
///
/// Serving Qwen3-VL (the endpoint is the URL up to and including `/v1`):
///
///     vllm serve Qwen/Qwen3-VL-8B-Thinking --port 8000 --max-model-len 32768
///         endpoint http://127.0.0.1:8000/v1, model Qwen/Qwen3-VL-8B-Thinking
///     python -m sglang.launch_server --model-path Qwen/Qwen3-VL-8B-Thinking --port 30000
///         endpoint http://127.0.0.1:30000/v1, model Qwen/Qwen3-VL-8B-Thinking
///     llama-server -m Qwen3-VL-8B-Thinking-Q4_K_M.gguf --mmproj mmproj-Qwen3-VL-8B-Thinking-F16.gguf \
///         --port 8080 -c 32768 --jinja
///         endpoint http://127.0.0.1:8080/v1 (llama-server serves one model and ignores the name)
///     ollama run qwen3-vl
///         endpoint http://localhost:11434/v1, model qwen3-vl
///
/// A server's reasoning parser (vLLM `--reasoning-parser`, llama.cpp's default `--reasoning-format`,
/// Ollama) moves the thinking into a separate field; this class puts it back in front of a
/// `</think>`, so the output reads like the model's raw text either way.
///
/// `maxThinkingTokens` has no server-side equivalent, so it is enforced here, and only when
/// streaming: once that many chunks of reasoning (roughly one token each) have arrived without a
/// `</think>`, the request is closed and the stream finishes with what arrived; the step parser then
/// reports the unterminated thinking. Without streaming, only `maxNewTokens` bounds the reasoning.
///
/// `timeout` is idle time: the longest wait for the next bytes. Without streaming, no bytes arrive
/// until the whole reply is written, so it must cover a whole generation.
///
/// Failures that may pass (connection refused or lost, HTTP 408, 429, 5xx) are retried after
/// 0.5 s, 1 s, 2 s… (or the server's `Retry-After`, up to 30 s), but only until the first text
/// reached the caller: a retry after that would repeat it.
///
/// The API key is sent only in the `Authorization` header; it is never logged, and it is blanked
/// out of any server message quoted in an error.
public final class OpenAICompatibleModel: VisionLanguageModel {
    public let identity: ModelIdentity
    public let endpoint: URL
    public let model: String
    public let streaming: Bool
    public let timeout: Duration
    public let maxRetries: Int
    private let apiKey: String?
    private let logger: Logger
    private let completionsURL: URL
    /// The endpoint without credentials or query, for messages and logs.
    private let shownEndpoint: String

    static let longestRetryAfter = Duration.seconds(30)
    /// Bodies that are not event streams are read whole; a server that sends more is not well.
    static let largestBody = 64 << 20

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

    private enum Outcome {
        case finished
        case retry(reason: String, retryAfter: Duration?)
    }

    private func run(_ conversation: [ChatMessage], _ settings: GenerationSettings, _ output: Output) async throws {
        let body = try ChatCompletionRequest(model: model, conversation: conversation, settings: settings, stream: streaming)
        var request = URLRequest(url: completionsURL)
        request.httpMethod = "POST"
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        do {
            request.httpBody = try encoder.encode(body)
        } catch {
            throw failure(.rejected, "the request cannot be written as JSON (is a generation setting NaN or infinite?): \(error)")
        }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(streaming ? "text/event-stream" : "application/json", forHTTPHeaderField: "Accept")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }

        let images = conversation.reduce(0) { count, message in
            count + message.content.count { if case .image = $0 { true } else { false } }
        }
        logger.debug("chat completion request", metadata: [
            "endpoint": "\(shownEndpoint)", "model": "\(model)", "stream": "\(streaming)", "messages": "\(conversation.count)",
            "images": "\(images)", "bytes": "\(request.httpBody?.count ?? 0)",
        ])

        var reply = ReplyAssembler(thinkingBudget: streaming ? settings.maxThinkingTokens : nil)
        var attempts = 0
        while true {
            attempts += 1
            switch try await attempt(request, &reply, output) {
            case .finished:
                logger.debug("chat completion finished", metadata: ["attempts": "\(attempts)"])
                return
            case .retry(let reason, let retryAfter):
                guard attempts <= maxRetries else {
                    throw failure(.unavailable, "\(shownEndpoint) is unavailable after \(attempts) attempts: \(reason)")
                }
                let delay = retryAfter.map { min($0, Self.longestRetryAfter) }
                    ?? min(.milliseconds(500) * (1 << min(attempts - 1, 16)), Self.longestRetryAfter)
                logger.warning("chat completion failed; retrying", metadata: [
                    "endpoint": "\(shownEndpoint)", "reason": "\(redacted(reason))", "attempt": "\(attempts)",
                    "delay": "\(delay)",
                ])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// What one HTTP exchange has shown so far.
    private struct Exchange {
        var status: Int?
        var retryAfter: Duration?
        /// A 200 event stream, read as it arrives; any other body is collected and read at the end.
        var isEventStream = false
        var lines = LineSplitter()
        var body = Data()
        /// `[DONE]` or a `finish_reason` arrived: the reply is complete even if the connection drops.
        var sawEnd = false
    }

    private func attempt(_ request: URLRequest, _ reply: inout ReplyAssembler, _ output: Output) async throws -> Outcome {
        let (events, session) = HTTPExchange.start(request, idleTimeout: timeout)
        // Also cancels the data task when the reply ends early ([DONE] read, budget spent, error).
        defer { session.invalidateAndCancel() }
        var exchange = Exchange()
        return try await withTaskCancellationHandler {
            for await event in events.events {
                switch event {
                case .response(let status, let contentType, let retryAfter):
                    exchange.status = status
                    exchange.retryAfter = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                        .map { Duration.seconds(max(0, $0)) }
                    // Error bodies, and a server that ignores `stream`, come as one JSON document.
                    exchange.isEventStream = streaming && status == 200
                        && (contentType.map { $0.lowercased().contains("event-stream") } ?? true)
                case .bytes(let data):
                    if exchange.isEventStream {
                        guard let lines = exchange.lines.feed(data) else {
                            throw failure(.badResponse, "\(shownEndpoint) sent an event-stream line longer than 16 MB")
                        }
                        for line in lines where try handle(line, &exchange, &reply, output) {
                            return .finished
                        }
                    } else {
                        exchange.body.append(data)
                        guard exchange.body.count <= Self.largestBody else {
                            throw failure(.badResponse, "\(shownEndpoint) sent a reply larger than 64 MB")
                        }
                    }
                case .completed(let error):
                    return try conclude(error, &exchange, &reply, output)
                }
            }
            // The events stop without a completion only when this task is cancelled.
            throw CancellationError()
        } onCancel: {
            events.cancel()
        }
    }

    /// Reads one line of the event stream; true when the reply is over.
    private func handle(_ line: String, _ exchange: inout Exchange, _ reply: inout ReplyAssembler, _ output: Output) throws -> Bool {
        // Comments (": ping"), `event:`/`id:` fields and the blank lines between events carry no text.
        guard line.hasPrefix("data:") else { return false }
        var payload = line.dropFirst(5)
        if payload.first == " " { payload = payload.dropFirst() }
        if payload.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            exchange.sawEnd = true
            return true
        }
        let data = Data(payload.utf8)
        let chunk: ChatCompletionReply
        do {
            chunk = try JSONDecoder().decode(ChatCompletionReply.self, from: data)
        } catch {
            throw failure(.badResponse, "\(shownEndpoint) sent a stream event that is not a chat-completion chunk: \(excerpt(data))")
        }
        guard let choice = chunk.choices?.first else {
            if chunk.choices == nil, let message = serverErrorMessage(in: data) {
                throw failure(.unavailable, "\(shownEndpoint) reported an error in the event stream: \(message)")
            }
            return false  // e.g. the usage summary some servers send last
        }
        let text = reply.add(reasoning: choice.delta?.thinking, content: choice.delta?.content)
        if !text.isEmpty { output.yield(.text(text)) }
        if choice.finishReason != nil { exchange.sawEnd = true }
        if reply.budgetSpent {
            logger.info("the reasoning used its budget without reaching </think>; stopped the reply", metadata: [
                "endpoint": "\(shownEndpoint)", "chunks": "\(reply.thinkingChunks)",
            ])
            return true
        }
        return false
    }

    private static let transient: Set<URLError.Code> = [.cannotConnectToHost, .networkConnectionLost, .notConnectedToInternet]

    /// Decides what a finished transfer means.
    private func conclude(_ error: (any Error)?, _ exchange: inout Exchange, _ reply: inout ReplyAssembler,
                          _ output: Output) throws -> Outcome {
        if let error {
            if Task.isCancelled { throw CancellationError() }
            let code = (error as? URLError)?.code
            if code == .timedOut { throw timedOut() }
            if exchange.isEventStream && exchange.sawEnd { return .finished }
            if reply.yieldedText {
                throw failure(.badResponse, "the reply from \(shownEndpoint) broke off before it was complete (\(describe(error))); the server may have crashed or restarted")
            }
            if let code, Self.transient.contains(code) { return .retry(reason: describe(error), retryAfter: nil) }
            throw failure(.unavailable, "cannot get a reply from \(shownEndpoint): \(describe(error))")
        }
        guard let status = exchange.status else {
            throw failure(.badResponse, "\(shownEndpoint) closed the connection without an HTTP response")
        }
        if exchange.isEventStream {
            if let last = exchange.lines.finish(), try handle(last, &exchange, &reply, output) { return .finished }
            if exchange.sawEnd { return .finished }
            throw failure(.badResponse, reply.yieldedText
                ? "the event stream from \(shownEndpoint) ended before [DONE]: the reply is truncated"
                : "the event stream from \(shownEndpoint) ended before [DONE] without any text")
        }
        let body = exchange.body
        let detail = serverErrorMessage(in: body).map { ": \($0)" } ?? ""
        switch status {
        case 200:
            return try read(body, &reply, output)
        case 408, 429, 500...599:
            return .retry(reason: "HTTP \(status)\(detail)", retryAfter: exchange.retryAfter)
        case 400...499:
            throw failure(.rejected, "\(shownEndpoint) rejected the request (HTTP \(status))\(detail)")
        default:
            throw failure(.badResponse, "\(shownEndpoint) answered HTTP \(status)\(detail)")
        }
    }

    /// Reads a whole (non-streamed) reply.
    private func read(_ body: Data, _ reply: inout ReplyAssembler, _ output: Output) throws -> Outcome {
        guard (try? JSONSerialization.jsonObject(with: body)) != nil else {
            throw failure(.badResponse, "\(shownEndpoint) answered with a body that is not JSON: \(excerpt(body))")
        }
        let decoded: ChatCompletionReply
        do {
            decoded = try JSONDecoder().decode(ChatCompletionReply.self, from: body)
        } catch {
            throw failure(.badResponse, "\(shownEndpoint) answered JSON that is not a chat completion: \(excerpt(body))")
        }
        guard let choice = decoded.choices?.first else {
            let detail = serverErrorMessage(in: body).map { ": \($0)" } ?? ": \(excerpt(body))"
            throw failure(.badResponse, "\(shownEndpoint) answered without any choices\(detail)")
        }
        let text = reply.add(reasoning: choice.message?.thinking, content: choice.message?.content)
        if !text.isEmpty { output.yield(.text(text)) }
        return .finished
    }

    private func timedOut() -> ModelError {
        failure(.timedOut, "\(shownEndpoint) sent nothing for \(String(format: "%g", timeout.timeInterval)) s; "
            + "it may be overloaded or still loading the model (a longer timeout helps if replies are just slow to start)")
    }

    private func describe(_ error: any Error) -> String {
        switch (error as? URLError)?.code {
        case .cannotConnectToHost?: "cannot connect (is the server running, on that port?)"
        case .networkConnectionLost?: "the server closed the connection"
        case .notConnectedToInternet?: "no network"
        case .cannotFindHost?, .dnsLookupFailed?: "unknown host"
        default: error.localizedDescription
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
