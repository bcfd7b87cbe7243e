import Desktop
import Foundation
import Imaging
import TestSupport
import TestSupportCore
import Testing

/// A `qwen-agent mcp --http` started for a test on a free port.
private final class MCPHTTPProcess {
    let process: ChildProcess
    /// The endpoint it printed, e.g. http://127.0.0.1:PORT/mcp.
    let url: String
    let folder: URL

    init(_ arguments: [String], display: VirtualDisplay, sessions: URL) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-http-\(UUID().uuidString)")
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_DATA_HOME"] = sessions.path
        (process, url) = try startServer(["mcp", "--http", "--port", "0", "--display", display.name] + arguments, in: folder,
                                         environment: environment, announcing: "qwen-agent mcp: ")
    }

    var stdout: String { (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? "" }

    /// Stops it with `signal`; the exit status (nil if it did not stop within `timeout`).
    func stop(_ signal: Int32, timeout: Double = 30) -> Int32? {
        process.signal(signal)
        return process.wait(timeout: timeout)
    }

    deinit {
        if process.isRunning { _ = stop(SIGINT, timeout: 10) }
        process.terminate()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// What the `refused` scenario saw.
private struct RefusedOutput: Decodable {
    struct Reply: Decodable { var status: Int, body: String }
    var withoutToken: Reply
    var wrongToken: Reply
    var foreignOrigin: Reply
    var proper: Reply
    var clientWithoutToken: String
}

@Suite("qwen-agent mcp --http, driven by the official Python MCP client over streamable HTTP on Xvfb")
struct MCPHTTPTests {
    let stdio = MCPServerTests()

    @Test func withATokenTheToolsWorkAndRequestsWithoutItOrFromAForeignOriginAreRefused() throws {
        try stdio.withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try stdio.loginApp(on: virtual)
                let avatar = app.widget("avatar").rect.center
                let token = "mcp-test-token-0123"
                // Any address but loopback needs the token.
                let server = try MCPHTTPProcess(["--host", "0.0.0.0", "--token", token], display: virtual, sessions: sessions)
                #expect(server.stdout.contains("token: \(token)"))
                let png = sessions.appendingPathExtension("png")
                defer { try? FileManager.default.removeItem(at: png) }
                let output: DesktopOutput = try stdio.client("desktop", on: virtual, sessions: sessions) { config in
                    config.url = server.url
                    config.token = token
                    config.png = png.path
                    config.avatar = [Int((Double(avatar.x) + 0.5) * 1000 / 1280), Int((Double(avatar.y) + 0.5) * 1000 / 800)]
                }
                #expect(output.tools.count == 11 && output.tools["click"] == ["coordinate"])
                #expect(output.screenshotMime == "image/png" && output.screenshotText.contains("1280x800 at +0+0"))
                let image = try PNG.read(from: png)
                let scaled = Point(x: avatar.x * image.size.width / 1280, y: avatar.y * image.size.height / 800)
                #expect(image[Point(x: scaled.x, y: scaled.y + 12)] == RGB(hex: 0xF5B041), "the avatar in the screenshot of the Xvfb display")
                #expect(output.click.isError == false, "\(output.click)")
                #expect(app.events().contains { $0.event == "menu" }, "the click opened the avatar's menu")
                #expect(output.errors["out_of_range"]?.code == -32602 && output.stillServing, "bad input is a protocol error; still serving")

                let refused: RefusedOutput = try stdio.client("refused", on: virtual, sessions: sessions) { config in
                    config.url = server.url
                    config.token = token
                }
                #expect(refused.withoutToken.status == 401 && refused.withoutToken.body.contains("needs its token"), "\(refused.withoutToken)")
                #expect(refused.wrongToken.status == 401)
                #expect(refused.foreignOrigin.status == 403 && refused.foreignOrigin.body.contains("evil.example are refused"), "\(refused.foreignOrigin)")
                #expect(refused.proper.status == 200, "the same request with the token and no foreign Origin is served: \(refused.proper)")
                #expect(refused.clientWithoutToken.contains("this server needs its token"), "the official client is refused: \(refused.clientWithoutToken)")
                #expect(app.events().filter { $0.event == "button_press" }.count == 1, "only the client's click reached the app")

                // Ctrl-C: the server stops and the input tools' session ends with an outcome.
                #expect(server.stop(SIGINT) == 0)
                let last = try #require(try stdio.serverSession(in: sessions).lines.last)
                #expect(last.contains("\"type\":\"outcome\"") && last.contains("the server was stopped"), "\(last)")
            }
        }
    }

    @Test func onLoopbackRunTaskSucceedsAndAForeignOriginIsRefused() throws {
        try stdio.withSessions { sessions in
            try withVirtualDisplay { virtual in
                let app = try stdio.loginApp(on: virtual)
                let logOut = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt")
                let server = try MCPHTTPProcess(["--transcript", logOut.path], display: virtual, sessions: sessions)
                #expect(server.url.hasPrefix("http://127.0.0.1:") && server.url.hasSuffix("/mcp") && !server.stdout.contains("token:"))
                let output: RunOutput = try stdio.client("run", on: virtual, sessions: sessions) { config in
                    config.url = server.url
                    config.task = "log out of the app"
                }
                #expect(output.outcome == "success" && output.steps == 3 && output.isError == false, "\(output.text ?? "")")
                #expect(output.progress.contains("── step 2 ──") && output.progress.contains("orange square avatar"), "the reasoning streamed as progress")
                #expect(app.events().contains { $0.event == "logged_out" })

                let refused: RefusedOutput = try stdio.client("refused", on: virtual, sessions: sessions) { $0.url = server.url }
                #expect(refused.foreignOrigin.status == 403, "DNS rebinding: a page of another origin cannot reach the server: \(refused.foreignOrigin)")
                #expect(refused.withoutToken.status == 200 && refused.proper.status == 200, "loopback needs no token")
                #expect(server.stop(SIGTERM) == 0)
            }
        }
    }

    @Test func httpOptionsWithoutHttpOrAShortTokenAreUsageErrors() throws {
        let stray = try qwenAgent(["mcp", "--port", "9000"], display: nil)
        #expect(stray.status == 64 && stray.stderr.contains("--host, --port and --token go with --http"), "\(stray.stderr)")
        let short = try qwenAgent(["mcp", "--http", "--token", "abc"], display: nil)
        #expect(short.status == 64 && short.stderr.contains("--token must be at least 8 characters"), "\(short.stderr)")
    }
}
