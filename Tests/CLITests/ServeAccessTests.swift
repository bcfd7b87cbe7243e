import Foundation
import TestSupport
import TestSupportCore
import Testing

/// `qwen-agent serve`: who may talk to it, and what bad requests get — checked with curl.
@Suite("qwen-agent serve: access rules and bad requests")
struct ServeAccessTests {
    static let transcript = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt").path

    @Test func loopbackServesThePageAndRefusesOtherHostsAndOrigins() throws {
        let server = try ServeProcess(["--transcript", Self.transcript])
        #expect(server.printedURL == "\(server.base)/", "no token on loopback")
        let page = try curl(server.base + "/")
        #expect(page.status == 200 && page.body.contains("<title>qwen-agent</title>"))
        #expect(page.headers.lowercased().contains("content-security-policy: default-src 'self'"))
        let script = try curl(server.base + "/app.js")
        #expect(script.status == 200 && script.headers.contains("text/javascript"))

        // DNS rebinding: a name that resolves to 127.0.0.1 but is not a loopback name.
        let rebound = try curl(server.base + "/api/status", ["-H", "Host: attacker.example:\(server.port)"])
        #expect(rebound.status == 403 && rebound.errorMessage?.contains("not this server's loopback address") == true, "\(rebound.body)")
        // A page from another origin posting a task (CSRF).
        let folder = server.folder
        let forged = try curl(server.base + "/api/tasks", try jsonArguments(["task": "log out of the app"], in: folder)
                                  + ["-H", "Origin: http://attacker.example"])
        #expect(forged.status == 403 && forged.errorMessage?.contains("http://attacker.example") == true, "\(forged.body)")
        let sameOrigin = try curl(server.base + "/api/status", ["-H", "Origin: \(server.base)"])
        #expect(sameOrigin.status == 200, "\(sameOrigin.body)")
        #expect(server.stop() == 0, "Ctrl-C stops the server cleanly: \(server.stderr)")
        #expect(server.stdout.contains("stopped"))
    }

    @Test func anyOtherAddressNeedsTheToken() throws {
        let generated = try ServeProcess(["--transcript", Self.transcript, "--host", "0.0.0.0"])
        let token = try #require(generated.printedURL.split(separator: "=").last.map(String.init))
        #expect(token.count == 64, "a generated token is printed in the URL: \(generated.printedURL)")
        let bare = try curl(generated.base + "/api/status")
        #expect(bare.status == 401 && bare.errorMessage?.contains("token") == true, "\(bare.body)")
        let wrong = try curl(generated.base + "/api/status", ["-H", "Authorization: Bearer \(String(repeating: "0", count: 64))"])
        #expect(wrong.status == 401)
        let bearer = try curl(generated.base + "/api/status", ["-H", "Authorization: Bearer \(token)"])
        #expect(bearer.status == 200, "\(bearer.body)")
        // The printed URL opens the page and leaves a cookie for the page's own requests.
        let opened = try curl(generated.printedURL)
        #expect(opened.status == 200 && opened.headers.contains("qwen_agent_token=\(token)"), "\(opened.headers)")
        let withCookie = try curl(generated.base + "/v1/models", ["-H", "Cookie: qwen_agent_token=\(token)"])
        #expect(withCookie.status == 200)

        let given = try ServeProcess(["--transcript", Self.transcript, "--host", "0.0.0.0", "--token", "correct-horse-battery"])
        #expect(given.printedURL.hasSuffix("?token=correct-horse-battery"))
        #expect(try curl(given.base + "/v1/models").status == 401)
        #expect(try curl(given.base + "/v1/models", ["-H", "Authorization: Bearer correct-horse-battery"]).status == 200)
        let crossSite = try curl(given.base + "/v1/models", ["-H", "Authorization: Bearer correct-horse-battery", "-H", "Origin: http://evil.example"])
        #expect(crossSite.status == 403)
    }

    @Test func badBodiesGetAMessageAndOversizedOnesA413() throws {
        let server = try ServeProcess(["--transcript", Self.transcript, "--max-upload-mb", "1"])
        let folder = server.folder
        let malformed = try curl(server.base + "/api/tasks", ["-X", "POST", "-H", "Content-Type: application/json", "--data", "{\"task\": "])
        #expect(malformed.status == 400 && malformed.errorMessage?.contains("malformed JSON") == true, "\(malformed.body)")
        let missing = try curl(server.base + "/api/tasks", try jsonArguments(["profile": "desktop-thinking"], in: folder))
        #expect(missing.status == 400 && missing.errorMessage?.contains("missing field 'task'") == true, "\(missing.body)")
        let badProfile = try curl(server.base + "/api/tasks", try jsonArguments(["task": "x", "profile": "no-such-profile"], in: folder))
        #expect(badProfile.status == 400 && badProfile.errorMessage?.contains("no-such-profile") == true, "\(badProfile.body)")
        let chat = try curl(server.base + "/v1/chat/completions", ["-X", "POST", "--data", "not json"])
        #expect(chat.status == 400 && chat.errorMessage?.contains("malformed JSON") == true, "\(chat.body)")
        let remoteImage = try curl(server.base + "/v1/chat/completions", try jsonArguments([
            "messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": "http://example.com/a.png"]]]]],
        ], in: folder))
        #expect(remoteImage.status == 400 && remoteImage.errorMessage?.contains("data URLs") == true, "\(remoteImage.body)")

        // Two megabytes of image for a one-megabyte limit: refused before anything is decoded or written.
        let big = folder.appendingPathComponent("big.json")
        let payload = "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,"
            + String(repeating: "A", count: 2 << 20) + "\"}}]}]}"
        try Data(payload.utf8).write(to: big)
        let sessions = folder.appendingPathComponent("data/qwen-agent/sessions")
        let tooLarge = try curl(server.base + "/v1/chat/completions", ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@\(big.path)"])
        #expect(tooLarge.status == 413 && tooLarge.errorMessage?.contains("larger than 1 MB") == true, "\(tooLarge.status) \(tooLarge.body)")
        #expect(!FileManager.default.fileExists(atPath: sessions.path), "nothing was written")
        #expect(try curl(server.base + "/api/status").status == 200, "the server goes on")
    }

    @Test func sessionRoutesNeverLeaveTheSessionsFolder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-\(UUID().uuidString)")
        let sessions = root.appendingPathComponent("sessions")
        try FileManager.default.createDirectory(at: sessions, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        // A real session, one beside the folder (reachable only by ../), and a link to it inside.
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Sessions/v1-agent-run"),
                                        to: sessions.appendingPathComponent("20260101-120000-1"))
        try FileManager.default.copyItem(at: Repository.fixtures.appendingPathComponent("Sessions/v1-agent-run"),
                                        to: root.appendingPathComponent("outside"))
        try FileManager.default.createSymbolicLink(at: sessions.appendingPathComponent("linked"), withDestinationURL: root.appendingPathComponent("outside"))
        let server = try ServeProcess(["--transcript", Self.transcript, "--sessions", sessions.path])

        let list = try curl(server.base + "/api/sessions")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["name"] as? String } == ["20260101-120000-1"], "the link is not listed: \(list.body)")
        let report = try curl(server.base + "/api/sessions/20260101-120000-1/report")
        #expect(report.status == 200 && report.body.contains("<!doctype html>"), "\(report.status)")
        for name in ["..%2Foutside", "%2E%2E%2Foutside", "linked", "..", "%2Fetc", "%2Ftmp", "nonexistent"] {
            let escaped = try curl(server.base + "/api/sessions/\(name)/report")
            #expect(escaped.status == 404, "\(name): \(escaped.status) \(escaped.body.prefix(200))")
        }
        let dotted = try curl(server.base + "/api/sessions/../outside/report", ["--path-as-is"])
        #expect(dotted.status == 404, "\(dotted.status)")
        let absolute = try curl(server.base + "/api/sessions/" + root.appendingPathComponent("outside").path + "/report", ["--path-as-is"])
        #expect(absolute.status == 404, "\(absolute.status)")
    }
}
