import Foundation
import Glibc
import Imaging
import Logging
import Models
import TestSupport
import Testing
import Units
import TestSupportCore

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
            + "max_tokens=64 presence_penalty=1.5 seed=7 stream=\(stream) \(stream ? "stream_options={\"include_usage\": true} " : "")"
            + "temperature=0.2 top_k=20 top_p=0.9 auth=match 世界"
    }

    static func waiting(for server: FakeOpenAIServer) -> String { "waiting for http://127.0.0.1:\(server.port)/v1" }

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
            #expect(generation.statuses == [Self.waiting(for: server)])
            #expect(generation.cost == ModelCall(completionTokens: 42, images: 1, finish: .stop), "the usage chunk, sent last")
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
            #expect(generation.cost == ModelCall(images: 1, finish: .stop))
        }
    }

    @Test func unsetSettingsAreOmittedAndNoKeyMeansNoAuthorization() async throws {
        try await withFakeServer { server in
            let model = Self.model("ok", on: server, apiKey: nil)
            let generation = await collect(model.generate([ChatMessage(role: .user, content: [.text("hi")])], settings: GenerationSettings()))
            #expect(generation.error == nil)
            #expect(generation.text == "Let me look at the request.\n</think>\n\nroles=user parts=text texts=hi images= stream=true stream_options={\"include_usage\": true} auth=none 世界")
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
            // Retries are shown as status lines, not as warnings in the log.
            let waiting = Self.waiting(for: server)
            #expect(generation.statuses == [
                waiting, "the server answered HTTP 503: the model is still loading; retrying in 0.5 s (attempt 2 of 4)",
                waiting, "the server answered HTTP 503: the model is still loading; retrying in 1 s (attempt 3 of 4)", waiting,
            ])
            let attempts = try await server.attempts("flaky")
            #expect(attempts == 3)
        }
        #expect(logs.all.allSatisfy { $0.level <= .debug }, "\(logs.all.filter { $0.level > .debug }.map(\.line))")
        let delays = logs.all.filter { $0.message == "chat completion failed; retrying" }.map { $0.metadata["delay"] }
        #expect(delays == ["\(Duration.milliseconds(500))", "\(Duration.seconds(1))"])
    }

    @Test func anEndpointWithoutV1IsPointedAtIt() async throws {
        try await withFakeServer { server in
            let endpoint = try #require(URL(string: "http://127.0.0.1:\(server.port)"))
            let model = OpenAICompatibleModel(endpoint: endpoint, model: "ok", apiKey: Self.key, timeout: .seconds(10),
                                              logger: Logger(label: "models-tests") { _ in SwiftLogNoOpLogHandler() })
            let generation = await collect(model.generate(Self.conversation, settings: Self.settings))
            let message = Self.failure(generation, .rejected)
            #expect(message == "http://127.0.0.1:\(server.port) answered 404 for /chat/completions: Not Found; "
                + "the endpoint usually ends in /v1 (e.g. http://127.0.0.1:\(server.port)/v1)")
        }
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
        let retries = logs.all.filter { $0.message == "chat completion failed; retrying" }
        #expect(retries.map { $0.metadata["delay"] } == ["\(Duration.zero)"], "Retry-After: 0, not the 0.5 s backoff")
        #expect(retries.first?.metadata["reason"] == "the server answered HTTP 429: too many requests")
    }

    @Test func rateLimitWithoutRetryAfterBacksOff() async throws {
        let logs = LogRecords()
        try await withFakeServer { server in
            let generation = await Self.generate("ratelimit-bare", on: server, logger: logs.logger)
            #expect(generation.error == nil)
            #expect(generation.text == Self.echo(stream: true))
            let attempts = try await server.attempts("ratelimit-bare")
            #expect(attempts == 2)
        }
        let retries = logs.all.filter { $0.message == "chat completion failed; retrying" }
        #expect(retries.map { $0.metadata["delay"] } == ["\(Duration.milliseconds(500))"], "the first backoff step")
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

    /// A client error, and a server error that is not one of a busy, restarting or loading server
    /// (408, 429, 500, 502, 503, 504): reported with the server's message, once.
    @Test(arguments: [
        ("bad-request", ModelError.Code.rejected, "rejected the request (HTTP 400): model not found"),
        ("not-implemented", ModelError.Code.badResponse, "answered HTTP 501: this server does not implement chat completions"),
    ])
    func failuresThatAreNotRetried(model name: String, code: ModelError.Code, expected: String) async throws {
        try await withFakeServer { server in
            let generation = await Self.generate(name, on: server)
            let message = Self.failure(generation, code)
            #expect(message == "http://127.0.0.1:\(server.port)/v1 \(expected)")
            let attempts = try await server.attempts(name)
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
            // The server holds the connection open for 300 s: ending within a minute proves the client gave up by
            // itself (a 1-s timer has been seen to fire 11 s late on a machine busy with other builds).
            #expect(generation.elapsed >= .milliseconds(900))
            #expect(generation.elapsed < .seconds(60))
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
            #expect(cancelled.duration(to: .now) < .seconds(5), "the reply would have run 30 s")
            // Still reasoning (no </think>), so the whitespace after each piece waits for the next.
            #expect(Array(chunks.prefix(3)) == ["tick 0", " tick 1", " tick 2"])
            #expect(chunks.count < 150, "the stream stopped long before its 300 ticks, 0.1 s apart")
            let disconnected = try await server.sawDisconnect("slow-stream")
            #expect(disconnected, "the HTTP request was closed too")
        }
    }

    // MARK: The thinking budget

    static let budgetSettings = GenerationSettings(maxNewTokens: 1000, maxThinkingTokens: 5)
    /// The five pieces of reasoning the `budget:` models send before the budget ends them.
    static let budgetReasoning = "thought0\nthought1 thought2 thought3\nthought4"
    static let budgetAnswer = "Action: Click OK.\n<tool_call>\n"
        + "{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [500, 500]}}\n</tool_call>"

    @Test func aServerThatContinuesTheReplyGetsTheReasoningClosed() async throws {
        try await withFakeServer { server in
            let generation = await collect(Self.model("budget:continue", on: server).generate(Self.conversation, settings: Self.budgetSettings))
            #expect(generation.error == nil)
            #expect(generation.text == Self.budgetReasoning + "\n</think>\n\n" + Self.budgetAnswer)
            #expect(generation.cost == ModelCall(promptTokens: 321, completionTokens: 17, images: 1, finish: .thinkingClosed))
            #expect(generation.statuses.contains("the reasoning reached its budget of 5 tokens; asking for the answer"))
            let attempts = try await server.attempts("budget:continue")
            #expect(attempts == 2, "the cut reply, then its continuation (which the server checks)")
            let disconnected = try await server.sawDisconnect("budget:continue")
            #expect(disconnected, "the server stopped generating the reasoning")
        }
    }

    /// A server that ignores `continue_final_message` (a reasoning of its own), or refuses it with a 400
    /// as llama-server does: the reply stays cut inside the reasoning, and the cost says why.
    @Test(arguments: ["budget:restart", "budget:reject"])
    func aServerThatCannotContinueLeavesTheReasoningCut(model name: String) async throws {
        try await withFakeServer { server in
            let generation = await collect(Self.model(name, on: server).generate(Self.conversation, settings: Self.budgetSettings))
            #expect(generation.error == nil, "ends like a reply; the step parser reports the unterminated thinking")
            #expect(generation.text == Self.budgetReasoning)
            #expect(generation.cost?.finish == .thinkingCut)
            #expect(generation.cost?.description.contains("reasoning cut at its budget (the server cannot continue a reply)") == true)
            let attempts = try await server.attempts(name)
            #expect(attempts == 2, "a refused continuation is not retried")
        }
    }

    @Test func withoutABudgetTheReasoningRunsToItsEnd() async throws {
        try await withFakeServer { server in
            var settings = Self.budgetSettings
            settings.maxThinkingTokens = nil
            let generation = await collect(Self.model("long-think", on: server).generate(Self.conversation, settings: settings))
            #expect(generation.text.hasSuffix("hmm199 </think>\n\nnever read"), "the whole stream (200 pieces, fake_openai_server.py)")
            #expect(generation.cost?.finish == .stop)
        }
    }

    // MARK: Tool calls the server took out of the text

    static let toolCallText = "Action: Click OK, then type.\n<tool_call>\n"
        + "{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [500, 500]}}\n</tool_call>\n<tool_call>\n"
        + "{\"name\": \"computer_use\", \"arguments\": {\"text\": \"hi\", \"action\": \"type\"}}\n</tool_call>"

    /// Arguments streamed in pieces by index, and arguments sent as an object (its key order kept).
    @Test(arguments: [true, false])
    func toolCallsComeBackAsTheModelWroteThem(streaming: Bool) async throws {
        try await withFakeServer { server in
            let generation = await Self.generate("tool-calls", on: server, streaming: streaming)
            #expect(generation.error == nil)
            #expect(generation.text == "I should click OK.\n</think>\n\n" + Self.toolCallText)
        }
    }

    // MARK: Recorded-shape streams of each server

    static let logOutReplies: [String] = {
        let transcript = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
        let text = (try? String(contentsOf: transcript, encoding: .utf8)) ?? ""
        return text.components(separatedBy: "\n---8<---\n").map { $0.trimmingCharacters(in: .newlines) }
    }()

    /// Each server's stream of the three log-out replies reads as exactly what the model wrote.
    @Test(arguments: ["vllm", "sglang", "llamacpp", "ollama"])
    func eachServersStreamReadsAsTheModelsText(server name: String) async throws {
        try await withFakeServer { server in
            let model = Self.model("fixture:\(name)", on: server)
            for (step, expected) in Self.logOutReplies.enumerated() {
                let generation = await collect(model.generate(Self.conversation, settings: Self.settings))
                #expect(generation.error == nil)
                #expect(generation.text == expected, "step \(step + 1)")
                #expect(generation.cost?.promptTokens == 1712 + 400 * (step + 1) && generation.cost?.completionTokens == 131)
            }
        }
    }

    // MARK: Resources

    /// Every model's client runs on SwiftNIO's shared event loops: models come and go without threads.
    @Test func modelsShareTheEventLoopThreads() async throws {
        try await withFakeServer { server in
            for _ in 0..<6 {
                let generation = await Self.generate("ok", on: server)
                #expect(generation.error == nil)
            }
        }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let eventLoopThreads = tasks.filter {
            ((try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) ?? "").hasPrefix("NIO-")
        }
        #expect(!eventLoopThreads.isEmpty && eventLoopThreads.count <= ProcessInfo.processInfo.activeProcessorCount,
                "\(eventLoopThreads.count) event-loop threads")
    }
}

/// What waiting for a silent server costs this process, measured in a child process of its own (an
/// exit test), where no other test's work is counted.
@Suite("OpenAI-compatible model: waiting costs no CPU")
struct WaitingCostTests {
    @Test func waitingForASilentServerCostsAlmostNoCPU() async throws {
        try await withFakeServer { server in
            let endpoint = server.endpoint.absoluteString
            let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) { [endpoint = endpoint as String] in
                let model = OpenAICompatibleModel(endpoint: URL(string: endpoint)!, model: "silent", apiKey: FakeOpenAIServer.apiKey,
                                                  logger: Logger(label: "models-tests") { _ in SwiftLogNoOpLogHandler() })
                let before = processCPUTime(), started = ContinuousClock.now
                let generation = await collect(model.generate(OpenAICompatibleModelTests.conversation, settings: OpenAICompatibleModelTests.settings))
                let cpu = processCPUTime() - before, wall = started.duration(to: .now)
                let share = cpu / wall.seconds
                print(String(format: "waited %.2f s; CPU %.3f s (%.1f%% of one core)", wall.seconds, cpu, share * 100))
                #expect(generation.error == nil)
                #expect(generation.text == OpenAICompatibleModelTests.echo(stream: true))
                #expect(wall > .seconds(3.9), "the server was silent for 4 s")
                #expect(share < 0.05, "waiting for the server costs less than 5% of a core")
            }
            if let output = result.map({ String(decoding: $0.standardOutputContent, as: UTF8.self) }) {
                print(output, terminator: "")
                #expect(output.contains("% of one core"))
            }
        }
    }
}

/// User plus system CPU time of this process so far, in seconds.
func processCPUTime() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

