import Foundation
import Glibc
import Imaging
import Logging
import Models
import TestSupport
import Testing

/// Against a real HTTP server on loopback (`fake_openai_server.py`), whose replies echo the request.
@Suite("OpenAI-compatible model: the request it sends, the replies it reads, the failures it reports")
struct OpenAICompatibleModelTests {
    static let key = FakeOpenAIServer.apiKey

    static let conversation: [ChatMessage] = [
        .system("You operate a computer."),
        ChatMessage(role: .user, content: [
            .text("Where is OK?"), .image(RGBImage(width: 4, height: 3, fill: RGB(hex: 0x336699))), .text("Answer briefly."),
        ]),
    ]
    static let settings = GenerationSettings(temperature: 0.2, topP: 0.9, topK: 20, presencePenalty: 1.5,
                                             maxNewTokens: 64, maxThinkingTokens: 1000, seed: 7)

    /// What the fake server's `ok` model answers to `conversation` with `settings` and the right key.
    static func echo(stream: Bool) -> String {
        "Let me look at the request.\n</think>\n\n"
            + "roles=system,user parts=text,text,image_url,text texts=You operate a computer.|Where is OK?|Answer briefly. "
            + "images=data:image/png;base64:iVBORw0K:4x3 "
            + "max_tokens=64 presence_penalty=1.5 seed=7 stream=\(stream) temperature=0.2 top_k=20 top_p=0.9 auth=match 世界"
    }

    static func model(_ name: String, on server: FakeOpenAIServer, apiKey: String? = key, streaming: Bool = true,
                      timeout: Duration = .seconds(10), maxRetries: Int = 3, logger: Logger = Logger(label: "models-tests") { _ in SwiftLogNoOpLogHandler() })
        -> OpenAICompatibleModel
    {
        OpenAICompatibleModel(endpoint: server.endpoint, model: name, apiKey: apiKey, streaming: streaming,
                              timeout: timeout, maxRetries: maxRetries, logger: logger)
    }

    /// One `generate` of `conversation` with `settings`, collected.
    static func generate(_ name: String, on server: FakeOpenAIServer, apiKey: String? = key, streaming: Bool = true,
                         timeout: Duration = .seconds(10), maxRetries: Int = 3,
                         logger: Logger = Logger(label: "models-tests") { _ in SwiftLogNoOpLogHandler() }) async -> Generation
    {
        await collect(model(name, on: server, apiKey: apiKey, streaming: streaming, timeout: timeout, maxRetries: maxRetries, logger: logger)
            .generate(conversation, settings: settings))
    }

    /// The failure, checked for the parts every error must have: one line, and never the key.
    static func failure(_ generation: Generation, _ code: ModelError.Code,
                        sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard let error = generation.modelError else {
            Issue.record("expected a \(code) ModelError, got \(String(describing: generation.error))", sourceLocation: sourceLocation)
            return ""
        }
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.contains(key), sourceLocation: sourceLocation)
        #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
        return error.message
    }

    // MARK: Requests and replies

    @Test func streamsTheReplyAndSendsTheRequestAsAsked() async throws {
        try await withFakeServer { server in
            let model = Self.model("ok", on: server)
            #expect(model.identity == ModelIdentity(kind: .served, name: "ok @ http://127.0.0.1:\(server.port)/v1"))
            let generation = await collect(model.generate(Self.conversation, settings: Self.settings))
            #expect(generation.error == nil)
            #expect(generation.text == Self.echo(stream: true))
            #expect(generation.chunks.count > 20, "arrives as the server streams it, not at the end")
            let attempts = try await server.attempts("ok")
            #expect(attempts == 1)
        }
    }

    @Test func credentialsInTheEndpointStayOutOfTheIdentity() {
        let model = OpenAICompatibleModel(endpoint: URL(string: "http://user:secret@10.0.0.5:8000/v1?api_key=secret")!,
                                          model: "Qwen/Qwen3-VL-8B-Thinking", logger: Logger(label: "models-tests"))
        #expect(model.identity.description == "served: Qwen/Qwen3-VL-8B-Thinking @ http://10.0.0.5:8000/v1")
    }

    @Test func withoutStreamingReadsTheWholeMessage() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("ok", on: server, streaming: false)
            #expect(generation.error == nil)
            #expect(generation.chunks == [Self.echo(stream: false)])
        }
    }

    @Test func unsetSettingsAreOmittedAndNoKeyMeansNoAuthorization() async throws {
        try await withFakeServer { server in
            let model = Self.model("ok", on: server, apiKey: nil)
            let generation = await collect(model.generate([ChatMessage(role: .user, content: [.text("hi")])], settings: GenerationSettings()))
            #expect(generation.error == nil)
            #expect(generation.text == "Let me look at the request.\n</think>\n\nroles=user parts=text texts=hi images= stream=true auth=none 世界")
        }
    }

    @Test(arguments: ["reasoning", "reasoning-field"], [true, false])
    func reasoningSentSeparatelyReadsLikeRawThinkingText(model name: String, streaming: Bool) async throws {
        try await withFakeServer { server in
            let generation = await Self.generate(name, on: server, streaming: streaming)
            #expect(generation.error == nil)
            #expect(generation.text == "The user wants OK clicked.\n</think>\n\nClick OK.")
        }
    }

    // MARK: Retries

    @Test func retriesUnavailableServerWithBackoffThenSucceeds() async throws {
        let logs = LogRecords()
        try await withFakeServer { server in
            let generation = await Self.generate("flaky", on: server, maxRetries: 3, logger: logs.logger)
            #expect(generation.error == nil)
            #expect(generation.text == Self.echo(stream: true))
            let attempts = try await server.attempts("flaky")
            #expect(attempts == 3)
        }
        let delays = logs.all.filter { $0.level == .warning }.map { $0.metadata["delay"] }
        #expect(delays == ["\(Duration.milliseconds(500))", "\(Duration.seconds(1))"])
    }

    @Test func givesUpAfterMaxRetriesAsUnavailable() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("flaky", on: server, maxRetries: 1)
            let message = Self.failure(generation, .unavailable)
            #expect(message.contains("after 2 attempts"))
            #expect(message.contains("HTTP 503: the model is still loading"))
            #expect(generation.chunks.isEmpty)
            let attempts = try await server.attempts("flaky")
            #expect(attempts == 2)
        }
    }

    @Test func rateLimitWaitsAsLongAsRetryAfterSays() async throws {
        let logs = LogRecords()
        try await withFakeServer { server in
            let generation = await Self.generate("ratelimit", on: server, logger: logs.logger)
            #expect(generation.error == nil)
            #expect(generation.text == Self.echo(stream: true))
            let attempts = try await server.attempts("ratelimit")
            #expect(attempts == 2)
        }
        let warnings = logs.all.filter { $0.level == .warning }
        #expect(warnings.map { $0.metadata["delay"] } == ["\(Duration.zero)"], "Retry-After: 0, not the 0.5 s backoff")
        #expect(warnings.first?.metadata["reason"] == "HTTP 429: too many requests")
    }

    @Test func retriesAConnectionResetBeforeAnyText() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("reset", on: server)
            #expect(generation.error == nil)
            #expect(generation.text == Self.echo(stream: true))
            let attempts = try await server.attempts("reset")
            #expect(attempts == 2)
        }
    }

    @Test func connectionRefusedIsUnavailableAfterRetries() async throws {
        // A port bound but never listened on refuses connections, and no other test's server can take it
        // (a stopped server's port can be handed to the next one started).
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        try #require(bound, "a loopback port to refuse connections on")
        let port = Int(UInt16(bigEndian: address.sin_port))
        let endpoint = try #require(URL(string: "http://127.0.0.1:\(port)/v1"))
        let model = OpenAICompatibleModel(endpoint: endpoint, model: "ok", apiKey: Self.key, timeout: .seconds(10), maxRetries: 1,
                                          logger: Logger(label: "models-tests") { _ in SwiftLogNoOpLogHandler() })
        let generation = await collect(model.generate(Self.conversation, settings: Self.settings))
        let message = Self.failure(generation, .unavailable)
        #expect(message == "http://127.0.0.1:\(port)/v1 is unavailable after 2 attempts: cannot connect (is the server running, on that port?)")
        #expect(generation.elapsed >= .milliseconds(450), "waited for the backoff before the retry")
    }

    // MARK: Failures that are not retried

    @Test func clientErrorIsRejectedWithTheServersMessage() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("bad-request", on: server)
            let message = Self.failure(generation, .rejected)
            #expect(message == "http://127.0.0.1:\(server.port)/v1 rejected the request (HTTP 400): model not found")
            let attempts = try await server.attempts("bad-request")
            #expect(attempts == 1)
        }
    }

    @Test func aServerMessageQuotingTheKeyIsRedacted() async throws {
        let logs = LogRecords()
        try await withFakeServer { server in
            let generation = await Self.generate("bad-key", on: server, logger: logs.logger)
            let message = Self.failure(generation, .rejected)
            #expect(message.hasSuffix("(HTTP 401): Incorrect API key provided: [API key]"))
            let attempts = try await server.attempts("bad-key")
            #expect(attempts == 1)
            // Logs of a retried failure and of a success, at the most verbose level.
            _ = await Self.generate("flaky", on: server, maxRetries: 1, logger: logs.logger)
            _ = await Self.generate("ok", on: server, logger: logs.logger)
        }
        #expect(logs.all.count >= 4)
        for record in logs.all { #expect(!record.line.contains(Self.key), "\(record.line)") }
    }

    @Test(arguments: [true, false])
    func aBodyThatIsNotJSONIsABadResponse(streaming: Bool) async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("malformed", on: server, streaming: streaming)
            let message = Self.failure(generation, .badResponse)
            #expect(message.hasSuffix("answered with a body that is not JSON: <html><body>502 Bad Gateway</body></html>"))
            let attempts = try await server.attempts("malformed")
            #expect(attempts == 1)
        }
    }

    @Test func aReplyWithoutChoicesIsABadResponse() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("no-choices", on: server, streaming: false)
            let message = Self.failure(generation, .badResponse)
            #expect(message.contains("answered without any choices"))
        }
    }

    @Test func aStreamEventThatIsNotJSONIsABadResponse() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("garbled", on: server)
            let message = Self.failure(generation, .badResponse)
            #expect(message.hasSuffix("sent a stream event that is not a chat-completion chunk: {\"choices\": ["))
            #expect(generation.chunks == ["Let"])
        }
    }

    @Test func anErrorEventInTheStreamIsReported() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("stream-error", on: server)
            let message = Self.failure(generation, .unavailable)
            #expect(message.hasSuffix("reported an error in the event stream: CUDA out of memory"))
            let attempts = try await server.attempts("stream-error")
            #expect(attempts == 1)
        }
    }

    /// Reset mid-stream, or closed cleanly where the body has no length: either way no `[DONE]`.
    @Test(arguments: [
        ("truncated", "broke off before it was complete (the server closed the connection)"),
        ("truncated-clean", "ended before [DONE]: the reply is truncated"),
    ])
    func aTruncatedStreamIsABadResponseAndNotRetried(model name: String, expected: String) async throws {
        try await withFakeServer { server in
            let generation = await Self.generate(name, on: server)
            let message = Self.failure(generation, .badResponse)
            #expect(message.contains(expected), "\(message)")
            #expect(generation.text == "Let me think about", "what arrived, once: a retry would have repeated it")
            let attempts = try await server.attempts(name)
            #expect(attempts == 1)
        }
    }

    // MARK: Time

    @Test func aSilentServerTimesOut() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("slow", on: server, timeout: .seconds(1))
            let message = Self.failure(generation, .timedOut)
            #expect(message.hasPrefix("http://127.0.0.1:\(server.port)/v1 sent nothing for 1 s"))
            // The server holds the connection open for 300 s: ending before proves the client gave up by
            // itself. The bound is loose on purpose: URLSession's timer runs on the dispatch pool that
            // the test process's long synchronous tests keep busy, which delayed it by up to 50 s here.
            #expect(generation.elapsed >= .milliseconds(900))
            #expect(generation.elapsed < .seconds(240))
            let attempts = try await server.attempts("slow")
            #expect(attempts == 1)
        }
    }

    @Test func theTimeoutIsIdleTimeNotTheWholeReply() async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("steady", on: server, timeout: .seconds(2))
            #expect(generation.error == nil)
            #expect(generation.text == (0..<16).map { "\($0) " }.joined())
            #expect(generation.elapsed > .seconds(3))
        }
    }

    @Test func cancellingTheConsumerEndsTheStreamAndClosesTheRequest() async throws {
        try await withFakeServer { server in
            let model = Self.model("slow-stream", on: server)
            let (started, signal) = AsyncStream.makeStream(of: Void.self)
            let consumer = Task {
                var chunks: [String] = []
                do {
                    for try await case .text(let chunk) in model.generate(Self.conversation, settings: Self.settings) {
                        chunks.append(chunk)
                        if chunks.count == 3 { signal.yield() }
                    }
                } catch {}
                return chunks
            }
            for await _ in started { break }
            let cancelled = ContinuousClock.now
            consumer.cancel()
            let chunks = await consumer.value
            // The reply would go on for 30 s; generous, for loaded CI machines.
            #expect(cancelled.duration(to: .now) < .seconds(15), "the reply would have run 30 s")
            #expect(Array(chunks.prefix(3)) == ["tick 0 ", "tick 1 ", "tick 2 "])
            #expect(chunks.count < 100, "the stream stopped well before its 300 ticks") // 0.1 s apart; loaded machines are slow to cancel
            let disconnected = try await server.sawDisconnect("slow-stream")
            #expect(disconnected, "the HTTP request was closed too")
        }
    }

    @Test func theThinkingBudgetStopsTheReplyBeforeTheAnswer() async throws {
        try await withFakeServer { server in
            var settings = Self.settings
            settings.maxThinkingTokens = 5
            let generation = await collect(Self.model("long-think", on: server).generate(Self.conversation, settings: settings))
            #expect(generation.error == nil, "ends like a reply; the step parser reports the unterminated thinking")
            #expect(generation.text == "hmm0 hmm1 hmm2 hmm3 hmm4 ")
            let disconnected = try await server.sawDisconnect("long-think")
            #expect(disconnected, "the server stopped generating")
        }
    }
}
