import Desktop
import Foundation
import Imaging
import TestSupport
import Testing

/// `qwen-agent TASK --endpoint … --model fixture:NAME` on Xvfb: the log-out run, answered by a loopback
/// server replaying each real server's stream shapes (Fixtures/ServerStreams).
@Suite("qwen-agent TASK against each server's recorded stream shapes")
struct ServedModelRunTests {
    @Test(arguments: ["vllm", "sglang", "llamacpp", "ollama"])
    func logsOutOfTheApp(server name: String) async throws {
        try await withFakeServer { server in
            try withVirtualDisplay { virtual in
                let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200),
                                         extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
                let run = try qwenAgent(["log out of the app", "--endpoint", server.endpoint.absoluteString, "--model", "fixture:\(name)"],
                                        display: virtual.name, environment: ["QWEN_AGENT_API_KEY": FakeOpenAIServer.apiKey])
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
                #expect(run.stdout.contains("✔ success"), "\(run.stdout)")
                #expect(!run.stderr.contains(" warning "), "no raw log lines in normal mode: \(run.stderr)")
                let events = app.events()
                #expect(events.contains { $0.event == "clicked" && $0.widget == "avatar" })
                #expect(events.contains { $0.event == "clicked" && $0.widget == "logout" })
                #expect(events.contains { $0.event == "logged_out" })
            }
            #expect(try await server.attempts("fixture:\(name)") == 3)
        }
    }
}
