import Desktop
import Foundation
import Imaging
import TestSupport
import TestSupportCore
import Testing

/// `qwen-agent serve --model <tiny golden checkpoint>` as an OpenAI-compatible server, for the official
/// `openai` package and for qwen-agent's own client.
@Suite("qwen-agent serve: the embedded engine behind /v1/chat/completions")
struct ServeOpenAITests {
    static let model = Repository.fixtures.appendingPathComponent("Golden/tiny-tied").path
    static let tokenizer = Repository.fixtures.appendingPathComponent("QwenTokenizer").path
    static let image = Repository.fixtures.appendingPathComponent("Golden/processor/image-0.png").path

    @Test func theOpenAIPackageGetsWhatGenerateWrites() throws {
        let server = try ServeProcess(["--model", Self.model, "--tokenizer", Self.tokenizer])
        let prompt = "Where is the button?"
        let client = try runClient("openai_chat.py", [server.base, "tiny-tied", Self.image, prompt, "12"])
        #expect(client.status == 0, "\(client.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any], "\(client.stdout)")
        #expect(result["models"] as? [String] == ["tiny-tied"])

        let generated = try qwenAgent(["generate", "--model", Self.model, "--tokenizer", Self.tokenizer, prompt, "--image", Self.image,
                                       "--greedy", "--max-new-tokens", "12", "--json"], display: nil)
        #expect(generated.status == 0, "\(generated.stderr)")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(generated.stdout.utf8)) as? [String: Any])["text"] as? String
        let text = try #require(expected)
        // The checkpoint's template is the Thinking one: the reply is reasoning up to </think>, then the answer.
        let split = text.range(of: "</think>")
        let reasoning = split.map { String(text[..<$0.lowerBound]) } ?? text
        let answer = split.map { String(text[$0.upperBound...].drop { $0.isWhitespace }) } ?? ""
        for mode in ["whole", "stream"] {
            let reply = try #require(result[mode] as? [String: Any], "\(mode)")
            #expect(reply["reasoning"] as? String == reasoning, "\(mode): \(reply) vs generate \(text.debugDescription)")
            #expect(reply["content"] as? String == answer, "\(mode): \(reply)")
            #expect(reply["finish_reason"] as? String == "length" && reply["completion_tokens"] as? Int == 12, "\(mode): \(reply)")
        }
        #expect((result["stream"] as? [String: Any])?["chunks"] as? Int ?? 0 > 3, "streamed in pieces")
        let prefill = generated.stderr.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        #expect((result["whole"] as? [String: Any])?["prompt_tokens"] as? Int == prefill, "the same prompt, image rows included: \(generated.stderr)")

        let stopped = try #require(result["after_disconnect"] as? [String: Any])
        #expect(stopped["stopped_by_disconnect"] as? Bool == true, "\(stopped)")
        #expect((stopped["completion_tokens"] as? Int ?? 30000) < 30000, "\(stopped)")
        #expect(result["after_disconnect_reply_tokens"] as? Int == 2)
        #expect(server.stop() == 0)
    }

    /// A client waiting for a whole (non-streamed) reply hangs up: the server stops generating, says
    /// so in its status, and the next request is answered instead of waiting for 30000 tokens.
    @Test func aClientThatHangsUpOnAWholeReplyStopsIt() throws {
        let server = try ServeProcess(["--model", Self.model, "--tokenizer", Self.tokenizer])
        let folder = server.folder
        let long = try jsonArguments(["model": "tiny-tied", "max_tokens": 30000, "temperature": 0,
                                      "messages": [["role": "user", "content": "Count to a million."]]] as [String: Any], in: folder)
        let gaveUp = try curl(server.base + "/v1/chat/completions", long, timeout: 3)
        #expect(gaveUp.status == 0, "curl gave up before the reply: \(gaveUp.status) \(gaveUp.body.prefix(200))")
        var last: [String: Any] = [:]
        try waitUntil("the server notices the client left", timeout: 60) {
            last = try #require(try curl(server.base + "/api/status").json?["last"] as? [String: Any])
            return last["stopped_by_disconnect"] as? Bool == true
        }
        #expect((last["completion_tokens"] as? Int ?? .max) < 30000, "\(last)")
        let short = try jsonArguments(["model": "tiny-tied", "max_tokens": 2, "temperature": 0,
                                       "messages": [["role": "user", "content": "Hi"]]] as [String: Any], in: folder)
        let next = try curl(server.base + "/v1/chat/completions", short, timeout: 60)
        #expect(next.status == 200, "\(next.body)")
        #expect((next.json?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 2, "\(next.body)")
        // Watching for the hang-up ends the connection after the reply, so the reply says so: a client that
        // sent its next request on it anyway would find it closed (the openai package did, now and then).
        #expect(next.headers.lowercased().contains("connection: close"), "\(next.headers)")
        let status = try #require(try curl(server.base + "/api/status").json)
        #expect(status["waiting"] as? Int == 0)
        #expect((status["kv_cache_bytes"] as? Int ?? 0) > 0, "the engine reports its KV cache: \(status)")
        #expect(server.stop() == 0)
    }

    /// Another qwen-agent uses the served engine: the tiny model's random text never ends, so the step
    /// reaches its time limit and the run ends with a typed error — not a hang — and the server stops
    /// generating when the client gives up.
    @Test func qwenAgentRunsAgainstTheServedEngine() throws {
        let server = try ServeProcess(["--model", Self.model, "--tokenizer", Self.tokenizer])
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual)
            let run = try qwenAgent(["log out of the app", "--endpoint", "\(server.base)/v1", "--model", "tiny-tied", "--max-pixels", "200000",
                                     "--step-timeout", "8"], display: virtual.name)
            #expect(run.status == 4, "\(run.stdout.suffix(2000))\(run.stderr)")
            #expect(run.stdout.contains("model: served: tiny-tied @ http://127.0.0.1:\(server.port)/v1"), "\(run.stdout.prefix(500))")
            #expect(run.stdout.contains("✘ error: the model took longer than the step time limit of 8 s"), "\(run.stdout.suffix(500))")
            #expect(!app.events().contains { $0.event == "clicked" })
        }
        var last: [String: Any] = [:]
        try waitUntil("the server notices the client left", timeout: 20) {
            last = try #require(try curl(server.base + "/api/status").json?["last"] as? [String: Any])
            return last["stopped_by_disconnect"] as? Bool == true
        }
        #expect((last["completion_tokens"] as? Int ?? .max) < 40960, "stopped before the profile's token limit: \(last)")
        #expect(server.stop() == 0)
    }
}
