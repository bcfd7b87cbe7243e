@testable import Agent
@testable import AgentCore
import Foundation
import Logging
import Models
import TestSupport
import Testing
import TestSupportCore

@Suite("Instruct↔Thinking routing rules") struct RouterTests {
    @Test(arguments: [
        (LastStep.none, "the task's first step needs a plan"),
        (.unusable, "the previous reply could not be used"),
        (.unchanged, "the previous step changed nothing"),
        (.repeated, "the previous step repeated an action"),
        (.gaveUp("terminate failure"), "Instruct gave up (terminate failure)"),
    ])
    func eachRuleEscalatesToThinking(last: LastStep, reason: String) {
        let policy = RoutingPolicy()
        #expect(policy.escalation(step: 2, after: last) == reason)
        #expect(policy.escalation(step: 2, after: .fine) == nil, "a step after a fine one goes to Instruct")
    }

    @Test func aRuleTurnedOffKeepsInstruct() throws {
        var policy = RoutingPolicy()
        policy.firstStep = false
        policy.afterUnchangedScreen = false
        #expect(policy.escalation(step: 1, after: .none) == nil)
        #expect(policy.escalation(step: 3, after: .unchanged) == nil)
        #expect(policy.escalation(step: 3, after: .unusable) != nil)
    }

    @Test func theAutoProfileIsData() throws {
        let router = try #require(try RouterProfile.load(Repository.agents.appendingPathComponent("auto.json").path))
        #expect(router.router.instruct == "desktop-instruct" && router.router.thinking == "desktop-thinking")
        #expect(router.router.policy == RoutingPolicy())
        #expect(try RouterProfile.load(Repository.agents.appendingPathComponent("desktop-thinking.json").path) == nil)
    }

    /// One decode of the file tells a router profile from a plain one, a broken router from both.
    @Test func aBrokenRouterIsAnErrorAndNotJSONIsNoRouter() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("router-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("broken.json"), notJSON = folder.appendingPathComponent("not.json")
        try Data(#"{"name": "broken", "router": {"instruct": "desktop-instruct"}}"#.utf8).write(to: broken)
        try Data("router: yes".utf8).write(to: notJSON)
        let error = #expect(throws: ProfileError.self) { try RouterProfile.load(broken.path) }
        #expect(error?.message.hasPrefix("the router profile \(broken.path) is not valid") == true, "\(error?.message ?? "")")
        #expect(try RouterProfile.load(notJSON.path) == nil)
    }

    @Test func theLoopAsksTheChosenModel() async throws {
        let instruct = RecordingModel(["Thought: click\nAction: click\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [600, 500]}}\n</tool_call>",
                                       "Thought: done\nAction: done\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"terminate\", \"status\": \"success\"}}\n</tool_call>"],
                                      name: "instruct")
        let thinking = RecordingModel([thinkingReply(#"{"action": "left_click", "coordinate": [250, 500]}"#)], name: "thinking")
        let models = StepModels.routed(
            instruct: ModelSeat(profile: try AgentLoopTests.profile("desktop-instruct"), model: instruct),
            thinking: ModelSeat(profile: try AgentLoopTests.profile(), model: thinking), policy: RoutingPolicy())
        let desktop = FakeDesktop()
        let outcome = await AgentLoop(screen: desktop, input: desktop, windows: desktop, models: models, options: AgentLoopTests.fast,
                                      logger: Logger(label: "test")).run(task: "t")
        #expect(outcome == .success(answer: nil))
        #expect(thinking.conversations.count == 1 && instruct.conversations.count == 2)
        // Each model gets its own profile's system prompt; the history is shared.
        let first = try #require(instruct.conversations.first)
        #expect(first.count > 2 && AgentLoopTests.texts(first[0]).contains("\"Thought:\""))
        #expect(first.count > 2 && AgentLoopTests.texts(first[2]).contains("Action: Do the next thing."))
    }
}
