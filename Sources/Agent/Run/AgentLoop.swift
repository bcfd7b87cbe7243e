public import Desktop
import Foundation
public import Imaging
public import Logging
public import Models

/// How a run ended.
public enum Outcome: Sendable, Equatable, CustomStringConvertible {
    case success(answer: String?)
    case failure(String)
    case needsUser(String)
    case abortedByUser
    case budgetExhausted(steps: Int)
    case error(String)

    /// The outcome's name in sessions and JSON: success, failure, needs-user, aborted-by-user, budget-exhausted, error.
    public var kind: String {
        switch self {
        case .success: "success"
        case .failure: "failure"
        case .needsUser: "needs-user"
        case .abortedByUser: "aborted-by-user"
        case .budgetExhausted: "budget-exhausted"
        case .error: "error"
        }
    }

    public var description: String {
        switch self {
        case .success(let answer): answer.map { "success: \($0)" } ?? "success"
        case .failure(let reason): "failure: \(reason)"
        case .needsUser(let request): "needs the user: \(request)"
        case .abortedByUser: "aborted by the user"
        case .budgetExhausted(let steps): "budget exhausted after \(steps) steps"
        case .error(let reason): "error: \(reason)"
        }
    }
}

/// What a run reports while it goes, for progress output and sessions.
public struct AgentEvents: Sendable {
    public var stepStarted: @Sendable (Int) -> Void = { _ in }
    public var text: @Sendable (String) -> Void = { _ in }
    public var parsed: @Sendable (Int, PlanReport) -> Void = { _, _ in }
    public var acting: @Sendable (Int, ResolvedAction) -> Void = { _, _ in }
    public var verified: @Sendable (Int, Verification, StepTimings) -> Void = { _, _, _ in }
    public var note: @Sendable (String) -> Void = { _ in }
    public init() {}
}

/// Where one step's time went. Everything but `think` is the agent's own overhead.
public struct StepTimings: Sendable, CustomStringConvertible {
    public var capture: Duration = .zero
    public var think: Duration = .zero
    public var parse: Duration = .zero
    public var act: Duration = .zero
    /// Waiting for the screen to stop changing, and comparing it with the step's start.
    public var settle: Duration = .zero

    public var overhead: Duration { capture + parse + act + settle }

    /// The same, in milliseconds, for session records.
    var milliseconds: [String: Double] {
        func ms(_ d: Duration) -> Double { (Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 * 10).rounded() / 10 }
        return ["capture": ms(capture), "think": ms(think), "parse": ms(parse), "act": ms(act), "settle": ms(settle)]
    }

    public var description: String {
        func ms(_ d: Duration) -> String { "\(Int((Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15).rounded())) ms" }
        return "think \(ms(think)), capture \(ms(capture)), parse \(ms(parse)), act \(ms(act)), settle \(ms(settle))"
    }
}

/// Safety and pacing settings of a run.
public struct RunOptions: Sendable {
    /// Asked before each action; false skips it and ends the run as aborted by the user.
    public var confirm: (@Sendable (ResolvedAction) -> Bool)?
    /// Only act on windows whose `WM_CLASS` class is one of these (nil: any window).
    public var allowedWindowClasses: Set<String>?
    /// Checked between steps and between synthetic events (the abort hotkey, Ctrl-C).
    public var isAborted: @Sendable () -> Bool = { false }
    /// Replies in a row that cannot be used (unparsable, out of range) before the run ends in error.
    public var maxBadReplies = 3
    /// Steps in a row that change nothing before the run ends as failure.
    public var maxIneffectiveSteps = 4
    /// Longest wait for the screen to stop changing after an action.
    public var settleCeiling: Duration = .seconds(3)
    public init() {}
}

/// The agent: observe → think → parse → check → act → settle → verify, until the model says it is
/// done, the budget runs out, or something goes wrong. Every outcome is typed.
public final class AgentLoop {
    private let display: Display
    private let capturer: ScreenCapturer
    private let executor: Executor
    private let profile: Profile
    private let model: any VisionLanguageModel
    private let area: Rect
    private let space: CoordinateMapping.CoordinateSpace
    private let options: RunOptions
    private let events: AgentEvents
    private let recorder: SessionRecorder?
    private let logger: Logger

    /// One finished step, kept for the history sent to the model.
    private struct Step {
        let screenshot: RGBImage
        let answer: String
        let feedback: String
    }

    public init(display: Display, input: InputController, profile: Profile, model: any VisionLanguageModel, area: Rect,
                options: RunOptions = RunOptions(), events: AgentEvents = AgentEvents(), recorder: SessionRecorder? = nil,
                logger: Logger) throws(ProfileError) {
        guard let space = CoordinateMapping.CoordinateSpace(profileValue: profile.coordinateSpace) else {
            throw ProfileError("the profile's coordinate_space '\(profile.coordinateSpace)' is not relative, pixels or resized:WxH")
        }
        self.display = display
        capturer = ScreenCapturer(display: display)
        executor = Executor(input: input)
        self.profile = profile
        self.model = model
        self.area = area
        self.space = space
        self.options = options
        self.events = events
        self.recorder = recorder
        self.logger = logger
    }

    /// Runs the task to an outcome; with a recorder, every step and the outcome go into the session.
    public func run(task: String) async -> Outcome {
        let started = Date()
        var outcome = await steps(task: task)
        do {
            try recorder?.append(["type": "outcome", "outcome": outcome.kind, "detail": outcome.description,
                                  "seconds": (Date().timeIntervalSince(started) * 10).rounded() / 10])
        } catch {
            outcome = .error("the session could not be written: \(error.message)")
        }
        return outcome
    }

    private func steps(task: String) async -> Outcome {
        var history: [Step] = []
        var feedback = ""
        var badReplies = 0, ineffective = 0
        var lastAction: String?
        do {
            let clock = ContinuousClock()
            var timings = StepTimings()
            let firstCapture = clock.now
            var screenshot = try capturer.capture(area)
            timings.capture = clock.now - firstCapture
            for step in 1...max(1, profile.stepLimit) {
                if options.isAborted() { return .abortedByUser }
                events.stepStarted(step)
                var started = clock.now
                let sent = modelImage(screenshot)
                timings.capture += clock.now - started
                started = clock.now
                let (output, cost) = try await think(task: task, screenshot: sent.image, history: history, feedback: feedback)
                timings.think = clock.now - started
                if let cost { events.note(cost.description) }
                if options.isAborted() { return .abortedByUser }
                started = clock.now
                let mapping = CoordinateMapping(space: sent.space, imageSize: screenshot.size, imageOrigin: area.origin)
                let report = PlanReport(text: output, shape: profile.shape, mapping: mapping)
                timings.parse = clock.now - started
                events.parsed(step, report)
                let answer = report.plan?.answer ?? output

                guard report.isSuccess else {
                    // Unusable output is a state, never success: record it, say why and ask again.
                    try record(step, before: screenshot, after: nil, output: output, cost: cost, report: report, performed: [], verification: nil, timings: timings)
                    timings = StepTimings()
                    badReplies += 1
                    let reason = report.jsonObject["reason"] as? String ?? report.status
                    if badReplies >= options.maxBadReplies {
                        return .error("\(badReplies) replies in a row could not be used; the last: \(report.status): \(reason)")
                    }
                    feedback = "Your previous reply could not be used (\(report.status): \(reason)). "
                        + "Think, close the reasoning with </think>, then give exactly one <tool_call> with coordinates on the 0–1000 grid."
                    continue
                }
                badReplies = 0

                let before = screenshot
                var performed: [ResolvedAction] = []
                var target: Point?
                started = clock.now
                for resolved in report.resolved {
                    try check(resolved)
                    if options.isAborted() { return .abortedByUser }
                    events.acting(step, resolved)
                    let effect = try executor.perform(resolved)
                    performed.append(resolved)
                    let ending: Outcome? = switch effect {
                    case .performed: nil
                    case .finished(.success): .success(answer: nil)
                    case .finished(.failure): .failure("the model reported that the task cannot be done")
                    case .answered(let text): .success(answer: text)
                    case .needsUser(let request): .needsUser(request)
                    }
                    if let ending {
                        timings.act = clock.now - started
                        try record(step, before: before, after: nil, output: output, cost: cost, report: report, performed: performed, verification: nil, timings: timings)
                        return ending
                    }
                    target = resolved.point.map { Point(x: $0.x - area.x, y: $0.y - area.y) } ?? target
                }
                timings.act = clock.now - started
                started = clock.now
                screenshot = try capturer.settledCapture(area, ceiling: options.settleCeiling, logger: logger)
                let verification = Verification(ScreenChange(from: before, to: screenshot, near: target), hasTarget: target != nil)
                timings.settle = clock.now - started
                events.verified(step, verification, timings)
                try record(step, before: before, after: screenshot, output: output, cost: cost, report: report, performed: performed,
                           verification: verification, timings: timings)
                timings = StepTimings()

                let signature = report.resolved.map(\.description).joined(separator: "; ")
                if verification == .unchanged {
                    ineffective += 1
                    if ineffective >= options.maxIneffectiveSteps {
                        return .failure("stuck: \(ineffective) steps in a row changed nothing on the screen (last: \(signature))")
                    }
                    let repeated = signature == lastAction ? " You already tried exactly this, and it did nothing both times: do something different." : ""
                    feedback = "Step \(step): \(signature) — \(verification); the action may have missed its target.\(repeated)"
                } else {
                    ineffective = 0
                    feedback = "Step \(step): \(signature) — \(verification)."
                }
                lastAction = signature
                history.append(Step(screenshot: sent.image, answer: answer, feedback: feedback))
            }
            return .budgetExhausted(steps: profile.stepLimit)
        } catch let error as DesktopError where error.code == .cancelled {
            return .abortedByUser
        } catch let error as DesktopError {
            return .error(error.message)
        } catch let error as ModelError {
            return .error("the model failed: \(error.message)")
        } catch let error as SessionError {
            return .error("the session could not be written: \(error.message)")
        } catch let error as SafetyStop {
            return error.outcome
        } catch {
            return .error("\(error)")
        }
    }

    // MARK: Steps

    /// Writes a step to the session: its frames first, then its log line.
    private func record(_ step: Int, before: RGBImage, after: RGBImage?, output: String, cost: ModelCall?, report: PlanReport,
                        performed: [ResolvedAction], verification: Verification?, timings: StepTimings) throws(SessionError) {
        guard let recorder else { return }
        var frames = ["before": try recorder.writeFrame(before, name: String(format: "step-%04d-before", step))]
        if let after { frames["after"] = try recorder.writeFrame(after, name: String(format: "step-%04d-after", step)) }
        // The coordinate chain of every action: as the model wrote it, in the screenshot, on the screen.
        let chain: [[String: Any]] = performed.map { resolved in
            var entry: [String: Any] = ["action": resolved.action.name.rawValue, "description": resolved.description]
            for (key, model, screen) in [("point", resolved.action.point, resolved.point), ("start", resolved.action.startPoint, resolved.startPoint)] {
                guard let model, let screen else { continue }
                entry[key] = ["model": [model.x, model.y], "image": [screen.x - area.x, screen.y - area.y], "screen": [screen.x, screen.y]]
            }
            if let text = resolved.action.text { entry["text"] = text }
            if let keys = resolved.action.keys { entry["keys"] = keys }
            return entry
        }
        // The XTest events as sent: kind, button or keycode, pointer position, milliseconds.
        let sentEvents: [[String: Any]] = executor.drainSentEvents().map { event in
            var entry: [String: Any] = ["kind": event.kind.rawValue, "ms": event.milliseconds]
            if let point = event.point { entry["x"] = point.x; entry["y"] = point.y } else { entry["detail"] = event.detail }
            return entry
        }
        var record: [String: Any] = [
            "type": "step", "step": step, "time": SessionRecorder.timestamp(), "frames": frames, "output": output,
            "status": report.status, "plan": report.jsonObject, "performed": chain, "input_events": sentEvents,
            "timings_ms": timings.milliseconds,
        ]
        if let cost { record["model_call"] = cost.description }
        if let verification {
            record["verification"] = verification.description
            record["screen_changed"] = verification != .unchanged
        }
        try recorder.append(record)
    }

    /// Sends the conversation and collects the streamed reply, within the profile's step timeout.
    private func think(task: String, screenshot: RGBImage, history: [Step], feedback: String) async throws -> (String, ModelCall?) {
        let resolution = space == .relative1000 ? "1000x1000" : "\(screenshot.width)x\(screenshot.height)"
        var conversation: [ChatMessage] = [.system(profile.systemMessage(resolution: resolution))]
        let recent = history.suffix(max(0, profile.history.screenshots - 1))
        let older = history.dropLast(recent.count).suffix(profile.history.stepsAsText)
        var opening = "Task: \(task)"
        if !older.isEmpty { opening += "\n\nEarlier steps:\n" + older.map(\.feedback).joined(separator: "\n") }
        conversation.append(ChatMessage(role: .user, content: [.text(opening)]))
        for step in recent {
            conversation.append(ChatMessage(role: .user, content: [.image(step.screenshot)]))
            conversation.append(.assistant(step.answer))
            conversation.append(ChatMessage(role: .user, content: [.text(step.feedback)]))
        }
        conversation.append(ChatMessage(role: .user, content: [.image(screenshot), .text(feedback.isEmpty ? "What is the next step?" : feedback)]))

        let deadline = ContinuousClock.now + .milliseconds(Int64(profile.stepTimeoutSeconds * 1000))
        let (model, events, isAborted, settings, limit) = (model, events, options.isAborted, profile.generation, Int(profile.stepTimeoutSeconds))
        let messages = conversation
        return try await withThrowingTaskGroup(of: (String, ModelCall?)?.self) { group in
            group.addTask {
                var output = ""
                var cost: ModelCall?
                for try await event in model.generate(messages, settings: settings) {
                    switch event {
                    case .text(let piece):
                        output += piece
                        events.text(piece)
                    case .status(let status): events.note(status)
                    case .cost(let call): cost = call
                    }
                    if isAborted() { break }
                }
                return (output, cost)
            }
            // The stream can be silent for long (an embedded engine reading a screenshot, a slow
            // server): the abort key and the step's time limit are watched apart from it.
            group.addTask {
                while !isAborted() {
                    if ContinuousClock.now > deadline { throw ModelError(.timedOut, "the model took longer than the step time limit of \(limit) s (the profile's step_timeout_seconds)") }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            defer { group.cancelAll() } // the other child: a watchdog, or a reply no longer awaited
            return try await group.next().flatMap { $0 } ?? ("", nil) // nil: aborted
        }
    }

    /// The screenshot as the model gets it: scaled down to the profile's `max_pixels` when larger,
    /// with the coordinate space that goes with it (relative coordinates do not care about the scale;
    /// pixel coordinates become pixels of the resized image).
    private func modelImage(_ screenshot: RGBImage) -> (image: RGBImage, space: CoordinateMapping.CoordinateSpace) {
        let pixels = screenshot.width * screenshot.height
        guard pixels > profile.image.maxPixels, profile.image.maxPixels > 0 else { return (screenshot, space) }
        let scale = (Double(profile.image.maxPixels) / Double(pixels)).squareRoot()
        let size = Size(width: max(1, Int(Double(screenshot.width) * scale)), height: max(1, Int(Double(screenshot.height) * scale)))
        let resized = screenshot.downscaled(to: size)
        return (resized, space == .imagePixels ? .resizedPixels(size) : space)
    }

    /// Safety checks before an action: the window allow-list, then the user's confirmation.
    private func check(_ resolved: ResolvedAction) throws {
        if let allowed = options.allowedWindowClasses, resolved.action.name != .wait, resolved.action.name != .terminate,
           resolved.action.name != .answer, resolved.action.name != .callUser
        {
            // Pointer actions land on the window under the point; keys go to the focused window.
            let windowClass = resolved.point.map { display.windowClass(at: $0) } ?? display.focusedWindowClass()
            guard let windowClass, allowed.contains(windowClass) else {
                throw SafetyStop(outcome: .needsUser(
                    "\(resolved) would act on \(windowClass.map { "a '\($0)' window" } ?? "no window"), outside --only-window \(allowed.sorted().joined(separator: ","))"))
            }
        }
        if let confirm = options.confirm, !confirm(resolved) { throw SafetyStop(outcome: .abortedByUser) }
    }
}

/// A safety rule stopped the run before an action.
struct SafetyStop: Error {
    let outcome: Outcome
}

extension CoordinateMapping.CoordinateSpace {
    /// `relative`, `pixels` or `resized:WxH`, as profiles and `--coordinates` write it.
    public init?(profileValue value: String) {
        switch value {
        case "relative", "relative1000": self = .relative1000
        case "pixels": self = .imagePixels
        default:
            let size = value.hasPrefix("resized:") ? value.dropFirst("resized:".count).lowercased().split(separator: "x").compactMap { Int($0) } : []
            guard size.count == 2, size[0] > 0, size[1] > 0 else { return nil }
            self = .resizedPixels(Size(width: size[0], height: size[1]))
        }
    }
}
