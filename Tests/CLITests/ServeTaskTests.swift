import Desktop
import Foundation
import Imaging
import TestSupport
import TestSupportCore
import Testing

/// `qwen-agent serve`'s task API on Xvfb with the fixture app, answered by the log-out transcript, driven with curl.
@Suite("qwen-agent serve: agent tasks over HTTP")
struct ServeTaskTests {
    static let transcript = Repository.fixtures.appendingPathComponent("Transcripts/log-out.txt").path

    /// A fresh display with the login scenario on its home screen, and serve on it.
    func withServedDesktop(_ body: (ServeProcess, FixtureApp) throws -> Void) throws {
        try withVirtualDisplay { virtual in
            let app = try FixtureApp(on: virtual, origin: Point(x: 320, y: 200), extraArguments: ["--scenario", "login", "--start", "home", "--user", "ada"])
            let server = try ServeProcess(["--transcript", Self.transcript, "--display", virtual.name])
            try body(server, app)
            #expect(server.stop() == 0, "\(server.stderr)")
        }
    }

    func start(_ server: ServeProcess, _ body: [String: Any]) throws -> String {
        let started = try curl(server.base + "/api/tasks", try jsonArguments(body, in: server.folder))
        #expect(started.status == 201, "\(started.body)")
        return try #require(started.json?["id"] as? String, "\(started.body)")
    }

    func summary(_ server: ServeProcess, _ id: String) throws -> [String: Any] {
        try #require(try curl(server.base + "/api/tasks/\(id)").json)
    }

    @Test func aTaskRunsToSuccessAndItsEventsArriveInOrder() throws {
        try withServedDesktop { server, app in
            let id = try start(server, ["task": "log out of the app"])
            // The stream replays what happened so far and ends with the outcome.
            let stream = try curl(server.base + "/api/tasks/\(id)/events", ["-N"], timeout: 90)
            #expect(stream.status == 200 && stream.headers.contains("text/event-stream"))
            let events = serverSentEvents(stream.body)
            let types = events.compactMap { $0["type"] as? String }
            #expect(types.first == "started" && types.last == "outcome", "\(types)")
            #expect((events.last?["outcome"] as? String) == "success", "\(events.last ?? [:])")
            #expect(events.map { $0["seq"] as? Int } == Array(1...events.count).map { Optional($0) }, "numbered without gaps")
            // Per step: started, the screenshot, reasoning streamed before the plan, the action, its verification.
            for step in 1...3 {
                let ofStep = types.indices.filter { events[$0]["step"] as? Int == step }.map { types[$0] }
                #expect(ofStep.prefix(3) == ["step", "screenshot", "planned"], "step \(step): \(ofStep)")
                let stepIndex = try #require(types.indices.first { types[$0] == "step" && events[$0]["step"] as? Int == step })
                let planIndex = try #require(types.indices.first { types[$0] == "planned" && events[$0]["step"] as? Int == step })
                #expect(types[stepIndex..<planIndex].contains("text"), "reasoning arrives before step \(step)'s plan")
            }
            #expect(types.filter { $0 == "acting" }.count == 2 && types.filter { $0 == "verified" }.count == 2, "\(types)")
            let reasoning = events.filter { $0["type"] as? String == "text" }.compactMap { $0["text"] as? String }.joined()
            #expect(reasoning.contains("Account actions such as logging out are usually in the menu behind the avatar"))
            #expect(app.events().contains { $0.event == "logged_out" })

            let finished = try summary(server, id)
            #expect(finished["state"] as? String == "finished" && finished["outcome"] as? String == "success", "\(finished)")
            let picture = try curl(server.base + "/api/tasks/\(id)/screenshot")
            #expect(picture.status == 200 && picture.headers.contains("image/png"))
            // The session is in the Sessions list with its report.
            let sessions = try #require(try JSONSerialization.jsonObject(with: Data(try curl(server.base + "/api/sessions").body.utf8)) as? [[String: Any]])
            let name = try #require(sessions.first?["name"] as? String)
            #expect(sessions.first?["outcome"] as? String == "success" && sessions.first?["steps"] as? Int == 3, "\(sessions)")
            #expect(try curl(server.base + "/api/sessions/\(name)/report").body.contains("log out of the app"))
            // A late listener of a finished task gets the whole run at once.
            let replayed = try curl(server.base + "/api/tasks/\(id)/events", ["-N"], timeout: 10)
            #expect(serverSentEvents(replayed.body).count == events.count)

            // The same server runs the next task: the first run let go of the display and its abort key.
            let next = try start(server, ["task": "log out of the app", "confirm": true])
            try waitUntil("the next run reaches its first action", timeout: 60) {
                let now = try summary(server, next)
                return now["waiting_for_approval"] is String || now["state"] as? String == "finished"
            }
            let reached = try summary(server, next)
            #expect(reached["state"] as? String == "running", "\(reached)")
            _ = try curl(server.base + "/api/tasks/\(next)/abort", ["-X", "POST"])
        }
    }

    @Test func confirmModeWaitsForApprovalAndAbortStopsTheRun() throws {
        try withServedDesktop { server, app in
            let id = try start(server, ["task": "log out of the app", "confirm": true])
            try waitUntil("the first action waits for approval", timeout: 60) { try summary(server, id)["waiting_for_approval"] is String }
            #expect((try summary(server, id)["waiting_for_approval"] as? String)?.hasPrefix("left_click at") == true)
            #expect(!app.events().contains { $0.event == "clicked" }, "nothing is done before the approval")

            let second = try curl(server.base + "/api/tasks", try jsonArguments(["task": "something else"], in: server.folder))
            #expect(second.status == 409 && second.errorMessage?.contains("task \(id) is still running") == true, "\(second.body)")
            let badDecision = try curl(server.base + "/api/tasks/\(id)/approve", try jsonArguments(["decision": "maybe"], in: server.folder))
            #expect(badDecision.status == 400, "\(badDecision.body)")

            let approved = try curl(server.base + "/api/tasks/\(id)/approve", try jsonArguments(["decision": "approve"], in: server.folder))
            #expect(approved.status == 200, "\(approved.body)")
            _ = try app.waitForEvents { $0.contains { $0.event == "clicked" && $0.widget == "avatar" } }
            try waitUntil("the second action waits for approval", timeout: 60) {
                let now = try summary(server, id)
                return (now["waiting_for_approval"] as? String)?.hasPrefix("left_click") == true && (now["events"] as? Int ?? 0) > 8
            }
            let aborted = try curl(server.base + "/api/tasks/\(id)/abort", ["-X", "POST"])
            #expect(aborted.status == 200)
            try waitUntil("the run ends", timeout: 30) { try summary(server, id)["state"] as? String == "finished" }
            #expect(try summary(server, id)["outcome"] as? String == "aborted-by-user")
            #expect(!app.events().contains { $0.event == "logged_out" }, "the aborted action was not done")
            let late = try curl(server.base + "/api/tasks/\(id)/approve", try jsonArguments(["decision": "approve"], in: server.folder))
            #expect(late.status == 409, "\(late.body)")
            // The display is free again.
            let next = try curl(server.base + "/api/tasks", try jsonArguments(["task": "log out of the app", "plan_only": true], in: server.folder))
            #expect(next.status == 201, "\(next.body)")
        }
    }

    @Test func planOnlyDrawsThePlanAndTouchesNothing() throws {
        try withServedDesktop { server, app in
            let id = try start(server, ["task": "log out of the app", "plan_only": true])
            let events = serverSentEvents(try curl(server.base + "/api/tasks/\(id)/events", ["-N"], timeout: 60).body)
            #expect(events.last?["outcome"] as? String == "success", "\(events.last ?? [:])")
            #expect((events.first { $0["type"] as? String == "planned" }?["actions"] as? [String])?.first?.hasPrefix("left_click at") == true)
            let picture = try curl(server.base + "/api/tasks/\(id)/screenshot")
            #expect(picture.status == 200)
            #expect(!app.events().contains { $0.event == "clicked" })
        }
    }

    /// 200 pages listen to a running task, three times over, and go away: every connection is let go
    /// (at the next keep-alive comment) and memory does not grow from round to round.
    @Test func manyEventStreamsComeAndGoWithoutLeaking() throws {
        try withServedDesktop { server, _ in
            let id = try start(server, ["task": "log out of the app", "confirm": true])
            try waitUntil("the task waits for approval", timeout: 60) { try summary(server, id)["waiting_for_approval"] is String }
            let client = try runClient("sse_clients.py", ["127.0.0.1", "\(server.port)", "/api/tasks/\(id)/events", "\(server.process.pid)", "200", "3"])
            #expect(client.status == 0, "\(client.stderr)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any], "\(client.stdout)")
            let before = try #require(result["before"] as? [String: Int])
            let rounds = try #require(result["rounds"] as? [[String: Any]])
            #expect(rounds.count == 3)
            for round in rounds {
                let during = try #require(round["during"] as? [String: Int]), after = try #require(round["after"] as? [String: Int])
                // Against the lower of the two baselines: `before` can still hold a closing connection of the polling
                // above, and `after` one of this round's (it is read once at most two are left).
                #expect(during["open_streams"] == 200 && during["fds"]! >= min(before["fds"]!, after["fds"]!) + 200, "\(round)")
                #expect(after["fds"]! <= before["fds"]! + 2, "every connection let go: \(round)")
            }
            let first = try #require((rounds.first?["after"] as? [String: Int])?["rss_kb"]), last = try #require((rounds.last?["after"] as? [String: Int])?["rss_kb"])
            #expect(last - first < 16_384, "resident memory after round 1: \(first) kB, after round 3: \(last) kB")
            _ = try curl(server.base + "/api/tasks/\(id)/abort", ["-X", "POST"])
        }
    }
}
