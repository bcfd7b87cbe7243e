import Foundation
import Imaging
import TestSupport
import Testing

/// What `qwen-agent TASK` shows and asks on the terminal: the verification glyph, `--confirm`.
@Suite("qwen-agent TASK on the terminal")
struct RunFeedbackTests {
    let agent = AgentRunTests()

    @Test func aStepThatChangedNothingIsNotTicked() throws {
        let (run, _) = try agent.run { _ in
            [thinkingReply("Click the empty corner.", "{\"action\": \"left_click\", \"coordinate\": [990, 990]}"),
             thinkingReply("Nothing happened; stop.", "{\"action\": \"terminate\", \"status\": \"failure\"}")]
        }
        #expect(run.stdout.contains("✗ nothing on the screen changed"), "\(run.stdout)")
        #expect(!run.stdout.contains("✓ nothing"), "\(run.stdout)")
    }

    @Test func confirmSkipsADeclinedActionAndNeverAsksBeforeTerminate() throws {
        let (run, events) = try agent.run(arguments: ["--confirm"], stdin: "n\n") { app in
            [thinkingReply("Log out.", "{\"action\": \"left_click\", \"coordinate\": \(grid(app.widget("logout").rect.center))}"),
             thinkingReply("The user declined; give up.", "{\"action\": \"terminate\", \"status\": \"failure\"}")]
        }
        #expect(run.stdout.components(separatedBy: "about to: ").count == 2, "asked once, not before terminate: \(run.stdout)")
        #expect(run.stdout.contains("skipped: left_click"), "\(run.stdout)")
        #expect(!events.contains { $0.event == "logged_out" })
        #expect(run.status == 1, "the model gave up after the skip: \(run.stdout)")
    }

    @Test func confirmStopEndsTheRunAsAborted() throws {
        let (run, events) = try agent.run(arguments: ["--confirm"], stdin: "s\n") { app in
            [thinkingReply("Log out.", "{\"action\": \"left_click\", \"coordinate\": \(grid(app.widget("logout").rect.center))}")]
        }
        #expect(run.status == 130, "\(run.stdout)")
        #expect(run.stdout.contains("aborted by the user"))
        #expect(!events.contains { $0.event == "logged_out" })
    }
}
