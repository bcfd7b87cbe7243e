import Agent
import AgentCore
import Foundation
import Imaging
import Logging
import Models
import Synchronization
import TestSupport
import Testing
import TestSupportCore

/// The loop's rules against an in-memory desktop: each test runs in milliseconds.
@Suite("Agent loop rules, without X") struct AgentLoopTests {
    static func profile(_ name: String = "desktop-thinking", _ change: (inout Profile) -> Void = { _ in }) throws -> Profile {
        var profile = try Profile.load(Repository.agents.appendingPathComponent("\(name).json").path)
        profile.stepTimeoutSeconds = 60 // generous: the tests that time things set their own limits
        change(&profile)
        return profile
    }

    static var fast: RunOptions {
        var options = RunOptions()
        options.settleCeiling = .milliseconds(200)
        options.settleInterval = .milliseconds(2)
        options.watchInterval = .milliseconds(2)
        return options
    }

    static func run(_ model: any VisionLanguageModel, on desktop: FakeDesktop = FakeDesktop(), profile: Profile? = nil,
                    options: RunOptions = fast, recorder: SessionRecorder? = nil) async throws -> Outcome {
        let seat = ModelSeat(profile: try profile ?? Self.profile(), model: model)
        return await AgentLoop(screen: desktop, input: desktop, windows: desktop, models: .one(seat), options: options,
                               recorder: recorder, logger: Logger(label: "test")).run(task: "log out")
    }

    static let click = thinkingReply(#"{"action": "left_click", "coordinate": [250, 500]}"#, action: "Click the avatar.")

    @Test func fourStepsThatChangeNothingEndAsFailure() async throws {
        let desktop = FakeDesktop(paint: FakeDesktop.inert)
        let outcome = try await Self.run(ScriptedModel(responses: Array(repeating: Self.click, count: 6)), on: desktop)
        guard case .failure(let reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.hasPrefix("stuck: 4 steps in a row changed nothing"))
        #expect(desktop.performed.count == 4)
    }

    @Test func threeUnusableRepliesEndAsError() async throws {
        let outcome = try await Self.run(ScriptedModel(responses: ["no idea\n</think>\n\nhmm", "still nothing\n</think>\n\n?", "x\n</think>\n\n."]))
        guard case .error(let reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.hasPrefix("3 replies in a row could not be used"))
    }

    @Test func aRepeatedIneffectiveActionIsCalledOutOnceInTheNextTurn() async throws {
        let model = RecordingModel(Array(repeating: Self.click, count: 3))
        _ = try await Self.run(model, on: FakeDesktop(paint: FakeDesktop.inert))
        let third = try #require(model.conversations.dropFirst(2).first)
        let said = Self.texts(third.last!)
        #expect(said.contains("Step 2 (left_click (250, 500)): nothing on the screen changed. The same action did nothing the time before as well"))
        #expect(Self.allText(third).components(separatedBy: "Step 2 (left_click (250, 500)): nothing on the screen changed").count == 2, "said once")
    }

    @Test func theStepBudgetEndsTheRun() async throws {
        let desktop = FakeDesktop()
        let other = thinkingReply(#"{"action": "left_click", "coordinate": [600, 300]}"#)
        let outcome = try await Self.run(ScriptedModel(responses: [Self.click, other, Self.click]), on: desktop,
                                         profile: try Self.profile { $0.stepLimit = 2 })
        #expect(outcome == .budgetExhausted(steps: 2))
        #expect(desktop.performed.count == 2)
    }

    @Test func aClickOutsideTheAllowedWindowsNeedsTheUserAndSendsNothing() async throws {
        let desktop = FakeDesktop()
        desktop.setWindowClass("Firefox")
        var options = Self.fast
        options.allowedWindowClasses = ["FixtureApp"]
        let outcome = try await Self.run(ScriptedModel(responses: [Self.click]), on: desktop, options: options)
        guard case .needsUser(let request) = outcome else { Issue.record("\(outcome)"); return }
        #expect(request.contains("would act on a 'Firefox' window, outside --only-window FixtureApp"))
        #expect(desktop.performed.isEmpty)
    }

    @Test func onlyATerminateToolCallEndsTheRunAsSuccess() async throws {
        let prose = "The dialog is gone, so I am finished.\n</think>\n\nAction: The task is complete."
        let model = RecordingModel([prose, prose, prose])
        let outcome = try await Self.run(model)
        #expect(outcome != .success(answer: nil))
        let second = try #require(model.conversations.dropFirst().first)
        #expect(Self.texts(second.last!).contains("Your previous reply could not be used"), "\(Self.texts(second.last!))")

        let done = thinkingReply(#"{"action": "terminate", "status": "success"}"#, action: "The task is complete.")
        #expect(try await Self.run(ScriptedModel(responses: [done])) == .success(answer: nil))
    }

    /// After an unusable reply the model is asked again on the screen as it is then, not as it was
    /// when it first looked: here a dialog (a white band) appears while it writes the bad reply.
    @Test func anUnusableReplyIsAskedAgainOnTheCurrentScreen() async throws {
        let desktop = FakeDesktop()
        var changed = try await desktop.capture()
        for x in 0..<changed.width { for y in 40..<60 { changed[x, y] = RGB(hex: 0xFFFFFF) } }
        let dialog = changed
        let model = RecordingModel(["no call here\n</think>\n\nnothing", "still nothing\n</think>\n\nnothing"],
                                   beforeReply: { if $0 == 0 { desktop.show(dialog) } })
        _ = try await Self.run(model, on: desktop)
        func screenshot(_ call: Int) -> RGBImage? {
            model.conversations.dropFirst(call).first?.last?.content.lazy.compactMap { if case .image(let image) = $0 { image } else { nil } }.first
        }
        let first = try #require(screenshot(0)), second = try #require(screenshot(1))
        #expect(first[10, 50] == RGB(hex: 0x202020) && second[10, 50] == RGB(hex: 0xFFFFFF), "the second question showed the old screen")
    }

    @Test func feedbackAboutAnUnusableReplyFollowsTheProfile() async throws {
        let garbage = "no call here\n</think>\n\nnothing"
        let thinking = RecordingModel([garbage, garbage])
        _ = try await Self.run(thinking)
        let thinkingText = try Self.lastTurn(thinking, call: 2)
        #expect(thinkingText.contains("close the reasoning with </think>") && thinkingText.contains("0–1000"))

        let instruct = RecordingModel(["nothing useful", "nothing useful"])
        _ = try await Self.run(instruct, profile: try Self.profile("desktop-instruct"))
        let instructText = try Self.lastTurn(instruct, call: 2)
        #expect(!instructText.contains("</think>") && instructText.contains("0–1000"), "\(instructText)")

        let pixels = RecordingModel([garbage, garbage])
        _ = try await Self.run(pixels, profile: try Self.profile { $0.coordinateSpace = .imagePixels })
        let pixelText = try Self.lastTurn(pixels, call: 2)
        // The 200x100 screen is sent smart-resized to 192x96, and the model is told so.
        #expect(pixelText.contains("in pixels of the 192x96 screenshot") && !pixelText.contains("0–1000"), "\(pixelText)")
    }

    @Test func reasoningCutAtItsBudgetIsExplainedToTheModel() async throws {
        let cut = RecordingModel(["I keep thinking and thinking", "still thinking", "and thinking"], finish: .thinkingCut)
        let outcome = try await Self.run(cut, profile: try Self.profile { $0.generation.maxThinkingTokens = 64 })
        guard case .error(let reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("the reasoning reached its budget of 64 tokens without </think>"), "\(reason)")
        #expect(Self.texts(try #require(cut.conversations.dropFirst().first?.last)).contains("the server cannot continue a reply"))
    }

    // MARK: Abort and time limits: every wait ends at once

    static func abortAfter(_ delay: Duration) -> (@Sendable () -> Bool) {
        let start = ContinuousClock.now
        return { ContinuousClock.now - start > delay }
    }

    /// What "at once" means for the timed tests: far under the 30–60 s the run would otherwise take, with
    /// room for a loaded machine that delays a timer's task (2.1 s was seen at load 20 against 0.1 s).
    static let promptly = Duration.seconds(10)

    /// Runs `body` on a thread of its own and says how long it took: the concurrency pool's two
    /// threads may be busy with other tests' long computations, which must not count against a run.
    static func timed(_ body: () async throws -> Outcome) async rethrows -> (Outcome, Duration) {
        let thread = DedicatedThread(name: "timed loop test")
        defer { thread.stop() }
        return try await withTaskExecutorPreference(thread) {
            let start = ContinuousClock.now
            let outcome = try await body()
            return (outcome, ContinuousClock.now - start)
        }
    }

    @Test func abortWhileTheModelThinks() async throws {
        var options = Self.fast
        options.isAborted = Self.abortAfter(.milliseconds(30))
        let (outcome, took) = try await Self.timed { try await Self.run(SilentModel(), options: options) }
        #expect(outcome == .abortedByUser)
        #expect(took < Self.promptly)
    }

    @Test func abortDuringAWait() async throws {
        var options = Self.fast
        options.isAborted = Self.abortAfter(.milliseconds(50))
        let wait = thinkingReply(#"{"action": "wait", "time": 30}"#)
        let (outcome, took) = try await Self.timed { try await Self.run(ScriptedModel(responses: [wait]), options: options) }
        #expect(outcome == .abortedByUser)
        #expect(took < Self.promptly)
    }

    @Test func abortWhileTheScreenKeepsChanging() async throws {
        var options = Self.fast
        options.settleCeiling = .seconds(30)
        options.isAborted = Self.abortAfter(.milliseconds(80))
        let desktop = FlickeringDesktop()
        let seat = ModelSeat(profile: try Self.profile(), model: ScriptedModel(responses: [Self.click]))
        let (outcome, took) = await Self.timed {
            await AgentLoop(screen: desktop, input: desktop.base, windows: desktop.base, models: .one(seat), options: options,
                            logger: Logger(label: "test")).run(task: "t")
        }
        #expect(outcome == .abortedByUser)
        #expect(took < Self.promptly)
    }

    @Test func abortWhileAskingForConfirmation() async throws {
        var options = Self.fast
        options.isAborted = Self.abortAfter(.milliseconds(50))
        options.confirm = { _ in
            try? await Task.sleep(for: .seconds(60))
            return .perform
        }
        let desktop = FakeDesktop()
        let (outcome, took) = try await Self.timed { try await Self.run(ScriptedModel(responses: [Self.click]), on: desktop, options: options) }
        #expect(outcome == .abortedByUser)
        #expect(took < Self.promptly)
        #expect(desktop.performed.isEmpty)
    }

    @Test func aSilentModelMeetsTheStepTimeLimit() async throws {
        let (outcome, took) = try await Self.timed {
            try await Self.run(SilentModel(), profile: try Self.profile { $0.stepTimeoutSeconds = 0.1 })
        }
        guard case .error(let reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.hasPrefix("the model took longer than the step time limit of 0.1 s"))
        #expect(took < Self.promptly)
    }

    // MARK: Confirmation

    @Test func aDeclinedActionIsSkippedAndTheModelIsTold() async throws {
        var options = Self.fast
        options.confirm = { _ in .skip }
        let desktop = FakeDesktop()
        let model = RecordingModel([Self.click, thinkingReply(#"{"action": "terminate", "status": "failure"}"#)])
        let outcome = try await Self.run(model, on: desktop, options: options)
        #expect(outcome == .failure("the model reported that the task cannot be done"))
        #expect(desktop.performed.isEmpty)
        #expect(try Self.lastTurn(model, call: 2).contains("The user declined left_click (250, 500)"))
    }

    @Test func terminateAndWaitAreNeverConfirmedNorSentAsInput() async throws {
        let asked = Mutex(0)
        var options = Self.fast
        options.confirm = { _ in
            asked.withLock { $0 += 1 }
            return .perform
        }
        let desktop = FakeDesktop()
        let wait = thinkingReply(#"{"action": "wait", "time": 0.01}"#)
        let done = thinkingReply(#"{"action": "terminate", "status": "success"}"#)
        #expect(try await Self.run(ScriptedModel(responses: [wait, done]), on: desktop, options: options) == .success(answer: nil))
        #expect(asked.withLock { $0 } == 0)
        #expect(desktop.performed.isEmpty)
    }

    // MARK: What the model reads

    @Test func historyIsTheModelsOwnWordsInItsOwnSpace() async throws {
        let replies = (1...5).map { index in
            thinkingReply("{\"action\": \"left_click\", \"coordinate\": [\(100 * index), 500]}", action: "Click button \(index).")
        }
        let model = RecordingModel(replies + [thinkingReply(#"{"action": "terminate", "status": "success"}"#)])
        let desktop = FakeDesktop()
        _ = try await Self.run(model, on: desktop, profile: try Self.profile { $0.history.recentSteps = 2 })
        let sixth = try #require(model.conversations.last)
        #expect(sixth.map(\.role) == [.system, .user, .assistant, .user, .assistant, .user])
        let instruction = Self.texts(sixth[1])
        #expect(instruction.contains("Instruction: log out\n\nPrevious actions:\nStep 1: Click button 1.\nStep 2: Click button 2.\nStep 3: Click button 3."))
        #expect(Self.texts(sixth[2]).hasPrefix("Action: Click button 4.\n<tool_call>"), "the reply without its reasoning")
        #expect(!Self.allText(sixth).contains("I look at the screen"), "no reasoning in the history")
        #expect(Self.texts(sixth[5]) == "Step 5 (left_click (500, 500)): the screen changed near the target.")
        // Screen pixels of the clicks (x = 20, 40, … on the 200-pixel-wide screen) appear nowhere.
        for performed in desktop.performed {
            #expect(!Self.allText(sixth).contains("\(performed.point!)"), "\(performed.point!)")
        }
        #expect(sixth.filter { $0.role == .user }.allSatisfy { message in message.content.contains { if case .image = $0 { true } else { false } } })
    }

    // MARK: Sessions

    @Test func stepTimingsAreRecordedInWholeMilliseconds() throws {
        var timings = StepTimings()
        timings.think = .milliseconds(2500)
        timings.settle = .seconds(1) + .microseconds(250)
        let recorded = StepRecord.Timings(timings)
        #expect(recorded.think == 2500)
        #expect(recorded.settle == 1000.3)
    }

    // MARK: Helpers

    static func texts(_ message: ChatMessage) -> String {
        message.content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
    }

    static func allText(_ messages: [ChatMessage]) -> String { messages.map(texts).joined(separator: "\n") }

    /// The text of the last turn of the model's `call`-th conversation (1-based); a missing one fails the test.
    static func lastTurn(_ model: RecordingModel, call: Int) throws -> String {
        texts(try #require(model.conversations.dropFirst(call - 1).first?.last, "the model was asked only \(model.conversations.count) times"))
    }
}

/// A screen that changes on every capture, so it never settles.
final class FlickeringDesktop: ScreenSource, Sendable {
    let base = FakeDesktop()
    private let count = Mutex(0)
    var area: Rect { base.area }

    func followGeometry() async throws -> Rect { area }

    func capture() async throws -> RGBImage {
        var image = try await base.capture()
        let n = count.withLock { value in
            value += 1
            return value
        }
        for x in 0..<20 { image[x, 0] = RGB(red: UInt8(n % 256), green: 0, blue: 0) }
        return image
    }
}
