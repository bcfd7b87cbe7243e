import Agent
import AgentCore
import Foundation
import Imaging
import TestSupport
import Testing

/// An Instruct reply in the desktop-instruct shape: a thought, an action line, one tool call.
func instructReply(_ thought: String, _ arguments: String) -> String {
    "Thought: \(thought)\nAction: \(thought)\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": \(arguments)}\n</tool_call>"
}

@Suite("qwen-agent --agent auto: Instruct and Thinking in one run")
struct RouterRunTests {
    @Test func stepsGoToThinkingOnlyWhenARuleSaysSo() throws {
        let session = FileManager.default.temporaryDirectory.appendingPathComponent("auto-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: session) }
        let (run, events) = try AgentRunTests().run(arguments: ["--agent", "auto", "--session", session.path]) { app in
            let logout = grid(app.widget("logout").rect.center)
            return [
                // 1 Thinking (the first step needs a plan): a click on empty space that changes nothing.
                thinkingReply("Try the empty corner first.", "{\"action\": \"left_click\", \"coordinate\": [990, 990]}"),
                // 2 Thinking (the previous step changed nothing): the right button.
                thinkingReply("That did nothing; the Log out button is at the top.", "{\"action\": \"left_click\", \"coordinate\": \(logout)}"),
                // 3 Instruct (a routine step): it gives up, so 4 goes to Thinking, which finishes.
                instructReply("I cannot tell whether it worked.", "{\"action\": \"terminate\", \"status\": \"failure\"}"),
                thinkingReply("The app shows Logged out: done.", "{\"action\": \"terminate\", \"status\": \"success\"}"),
            ]
        }
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(events.contains { $0.event == "logged_out" })
        #expect(run.stdout.contains("── step 1 ──  (thinking: the task's first step needs a plan)"), "\(run.stdout)")
        #expect(run.stdout.contains("── step 3 ──  (instruct: a routine step)"))
        #expect(run.stdout.contains("Instruct gave up (terminate failure); asking Thinking"))
        let lines = try String(contentsOf: session.appendingPathComponent("session.jsonl"), encoding: .utf8).split(separator: "\n")
        let steps = try lines.compactMap { line -> StepRecord? in
            line.contains("\"type\":\"step\"") ? try SessionFormat.decoder.decode(StepRecord.self, from: Data(line.utf8)) : nil
        }
        #expect(steps.map { $0.route?.model } == ["thinking", "thinking", "instruct", "thinking"])
        #expect(steps.map { $0.route?.reason } == ["the task's first step needs a plan", "the previous step changed nothing", "a routine step",
                                                    "Instruct gave up (terminate failure)"])
    }

    @Test func autoWithTwoRealModelsNeedsBoth() throws {
        let run = try qwenAgent(["log out", "--agent", "auto", "--endpoint", "http://127.0.0.1:9/v1", "--model", "instruct"], display: nil)
        #expect(run.status == 64)
        #expect(run.stderr.contains("--thinking-model"), "\(run.stderr)")
    }
}
