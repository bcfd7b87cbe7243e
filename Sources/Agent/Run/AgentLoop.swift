public import AgentCore
import Desktop
import Foundation
import Units
import Imaging
public import Logging
import Models

/// The agent: observe → think → act → settle and verify → record, until the model says it is done,
/// the budget runs out, or something goes wrong. Every outcome is typed.
///
/// The loop reaches the desktop only through ``ScreenSource``, ``InputSink`` and ``WindowInspector``
/// (``X11Desktop`` in real runs, in-memory fakes in tests), and every wait in it — the model's
/// reply, settling, `wait`, the user's confirmation — goes through a ``Watch`` that sees the abort
/// flag and the step's time limit at once. Nothing here sleeps a thread.
public final class AgentLoop {
    private let screen: any ScreenSource
    private let input: any InputSink
    private let windows: any WindowInspector
    private let models: StepModels
    private let options: RunOptions
    private let events: AgentEvents
    private let recorder: SessionRecorder?
    private let logger: Logger
    private let watch: Watch

    public init(screen: any ScreenSource, input: any InputSink, windows: any WindowInspector, models: StepModels,
                options: RunOptions = RunOptions(), events: AgentEvents = AgentEvents(), recorder: SessionRecorder? = nil, logger: Logger) {
        self.screen = screen
        self.input = input
        self.windows = windows
        self.models = models
        self.options = options
        self.events = events
        self.recorder = recorder
        self.logger = logger
        watch = Watch(isAborted: options.isAborted, interval: options.watchInterval)
    }

    /// Runs the task to an outcome and releases all input; with a recorder, every step and the outcome go into the session.
    public func run(task: String) async -> Outcome {
        let started = ContinuousClock.now
        var outcome = await steps(task: task)
        await input.releaseAll()
        do {
            try recorder?.append(OutcomeRecord(outcome, seconds: (ContinuousClock.now - started).seconds))
        } catch {
            outcome = .error("the session could not be written: \(error.message)")
        }
        return outcome
    }

    /// What the loop carries from step to step.
    private struct State {
        var history: [StepMemory] = []
        /// Said in the next turn besides the screenshot: why the last reply could not be used, what the user declined.
        var note: String?
        var badReplies = 0
        var ineffective = 0
        var last: LastStep = .none
        var lastSignature: String?
        /// Actions in a row not sent because the screen changed under them.
        var staleRefusals = 0
    }

    private func steps(task: String) async -> Outcome {
        var state = State()
        do {
            let clock = ContinuousClock()
            var timings = StepTimings()
            var started = clock.now
            var screenshot = try await screen.capture()
            var observed = try await windows.layout()
            timings.capture = clock.now - started
            /// The screen and windows observed again before the model is asked again.
            func observeAgain() async throws {
                let started = clock.now
                screenshot = try await screen.capture()
                observed = try await windows.layout()
                timings.capture = clock.now - started
            }
            for step in 1...max(1, models.lead.profile.stepLimit) {
                if options.isAborted() { return .abortedByUser }
                let (seat, route) = models.choose(step: step, after: state.last)
                events.stepStarted(step, route.map { "\($0.model): \($0.reason)" })
                events.observed(step, screenshot)

                // Observe: the screenshot as this model gets it.
                started = clock.now
                let sent = seat.image(for: screenshot)
                timings.capture += clock.now - started

                // Think.
                started = clock.now
                let messages = seat.conversation(imageSize: sent.image.size, space: sent.space)
                    .messages(task: task, history: state.history, screenshot: sent.image, note: state.note)
                let (output, cost) = try await think(messages, seat: seat)
                timings.think = clock.now - started
                if let cost { events.note(cost.description) }
                if options.isAborted() { return .abortedByUser }

                // Parse and judge.
                started = clock.now
                let mapping = CoordinateMapping(space: sent.space, imageSize: screenshot.size, imageOrigin: screen.area.origin)
                let report = PlanReport(text: output, shape: seat.profile.shape, mapping: mapping)
                timings.parse = clock.now - started
                events.parsed(step, report)
                var entry = StepEntry(step: step, before: screenshot, output: output, report: report, cost: cost, route: route)

                if var problem = Self.unusable(report) {
                    if cost?.finish == .thinkingCut {
                        problem.reason = "the reasoning reached its budget of \(seat.profile.generation.maxThinkingTokens ?? 0) tokens without </think>, "
                            + "and the server cannot continue a reply to close it (vLLM and SGLang can); raise max_thinking_tokens"
                    }
                    entry.status = problem.status
                    try await record(entry, timings: timings)
                    timings = StepTimings()
                    state.badReplies += 1
                    state.last = .unusable
                    if state.badReplies >= options.maxBadReplies {
                        return .error("\(state.badReplies) replies in a row could not be used; the last: \(problem.status): \(problem.reason)")
                    }
                    state.note = Feedback.unusableReply(problem.reason, shape: seat.profile.shape, space: sent.space)
                    // Asked again on the screen as it is now: it may have changed while the model thought.
                    try await observeAgain()
                    continue
                }
                state.badReplies = 0
                state.note = nil

                // Act.
                started = clock.now
                var target: Point?
                var declined: [Action] = []
                var handedOver = false
                var refused: (ResolvedAction, StaleScreen)?
                for resolved in report.resolved {
                    if options.isAborted() { return .abortedByUser }
                    let name = resolved.action.name
                    if name == .terminate || name == .answer || name == .callUser {
                        if case .routed = models, route?.model == "instruct", let why = Self.givingUp(resolved.action) {
                            // Instruct gave up: before ending the run, Thinking looks at the same screen.
                            events.note("Instruct gave up (\(why)); asking Thinking")
                            timings.act = clock.now - started
                            try await record(entry, timings: timings)
                            timings = StepTimings()
                            state.last = .gaveUp(why)
                            handedOver = true
                            break
                        }
                        entry.performed.append(resolved)
                        timings.act = clock.now - started
                        try await record(entry, timings: timings)
                        return Self.ending(resolved.action)
                    }
                    if name == .wait {
                        events.acting(step, resolved)
                        try await watch.pause(.milliseconds(Int64((resolved.action.seconds ?? 0) * 1000)))
                        entry.performed.append(resolved)
                        continue
                    }
                    switch try await check(resolved) {
                    case .skip:
                        declined.append(resolved.action)
                        events.note("skipped: \(resolved)")
                        continue
                    case .stop:
                        return .abortedByUser
                    case .perform, .performAll:
                        break
                    }
                    if let stale = try await staleness(of: resolved, observed: observed, firstInStep: entry.performed.isEmpty,
                                                      seen: screenshot, mapping: mapping) {
                        refused = (resolved, stale)
                        break
                    }
                    events.acting(step, resolved)
                    try await input.perform(resolved)
                    entry.performed.append(resolved)
                    target = resolved.point.map(mapping.imagePoint(forScreen:)) ?? target
                }
                if handedOver { continue }
                timings.act = clock.now - started
                if let (resolved, stale) = refused {
                    // Not sent: the model looks again at the screen as it is now.
                    events.note("not performed: \(resolved): the screen changed after the model saw it: \(stale)")
                    entry.refused = RefusedAction(action: PerformedAction(resolved, mapping: mapping), reason: stale)
                    try await record(entry, timings: timings)
                    timings = StepTimings()
                    state.staleRefusals += 1
                    if state.staleRefusals >= options.maxStaleRefusals {
                        return .error("the screen kept changing under the agent: \(state.staleRefusals) actions in a row were not performed; "
                            + "the last, \(resolved): \(stale)")
                    }
                    if case .geometry = stale { _ = try await screen.followGeometry() }
                    try await observeAgain()
                    state.note = Feedback.screenChanged(resolved.action, stale)
                    state.last = .fine
                    continue
                }
                state.staleRefusals = 0

                // Settle and verify.
                started = clock.now
                let after = try await Settling(screen: screen, ceiling: options.settleCeiling, interval: options.settleInterval,
                                               isAborted: options.isAborted, logger: logger).capture()
                let verification = Verification(ScreenChange(from: screenshot, to: after, near: target), hasTarget: target != nil)
                timings.settle = clock.now - started
                events.verified(step, verification, timings)
                observed = try await windows.layout()
                entry.after = after
                entry.verification = verification
                try await record(entry, timings: timings)
                timings = StepTimings()

                // Remember, and decide whether the run is stuck.
                let actions = entry.performed.map(\.action)
                let signature = actions.map(\.description).joined(separator: "; ")
                let repeated = signature == state.lastSignature
                if verification == .unchanged {
                    state.ineffective += 1
                    if state.ineffective >= options.maxIneffectiveSteps {
                        return .failure("stuck: \(state.ineffective) steps in a row changed nothing on the screen (last: \(signature))")
                    }
                } else {
                    state.ineffective = 0
                }
                state.last = repeated ? .repeated : verification == .unchanged ? .unchanged : .fine
                state.lastSignature = signature
                if let plan = report.plan {
                    state.history.append(StepMemory(screenshot: sent.image, plan: plan,
                                                    result: Feedback.stepResult(step, actions: actions, verification: verification, repeated: repeated)))
                    let stale = state.history.count - models.recentSteps - 1
                    if stale >= 0 { state.history[stale].screenshot = nil }
                }
                if !declined.isEmpty { state.note = declined.map(Feedback.skipped).joined(separator: " ") }
                screenshot = after
            }
            return .budgetExhausted(steps: models.lead.profile.stepLimit)
        } catch let error as WaitInterrupted {
            switch error {
            case .aborted: return .abortedByUser
            case .timedOut(let message): return .error(message)
            }
        } catch is CancellationError {
            return .abortedByUser
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

    // MARK: Think

    /// Sends the conversation and collects the streamed reply, within the profile's step time limit.
    private func think(_ messages: [ChatMessage], seat: ModelSeat) async throws -> (String, ModelCall?) {
        let seconds = seat.profile.stepTimeoutSeconds
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let (model, events, settings) = (seat.model, events, seat.profile.generation)
        return try await watch.race(
            deadline: deadline,
            timeout: "the model took longer than the step time limit of \(ModelPoint.format(seconds)) s (the profile's step_timeout_seconds, or --step-timeout)"
        ) {
            var output = ""
            var cost: ModelCall?
            for try await event in model.generate(messages, settings: settings) {
                switch event {
                case .text(let piece):
                    output += piece
                    events.text(piece)
                case .status(let status): events.status(status)
                case .cost(let call): cost = call
                }
            }
            return (output, cost)
        }
    }

    /// Why a reply cannot be acted on: its status for the session and the reason in one line.
    public struct UnusableReply: Sendable {
        public var status: String
        public var reason: String
    }

    /// Why a parsed reply cannot be acted on, or nil. Only the model's protocol ends a run: a
    /// completion claimed in prose (no `terminate`/`answer` tool call) is not success.
    public static func unusable(_ report: PlanReport) -> UnusableReply? {
        if let reason = report.reason { return UnusableReply(status: report.status, reason: reason) }
        guard let plan = report.plan else { return UnusableReply(status: report.status, reason: "no plan") }
        let endsTask = plan.actions.contains { [.terminate, .answer].contains($0.action.name) }
        if endsTask && (plan.source == .reasoningSteps || plan.source == .grounding) {
            return UnusableReply(status: "completion_without_tool_call", reason: Feedback.completionInProse)
        }
        return nil
    }

    /// What a terminal action means for the run.
    static func ending(_ action: Action) -> Outcome {
        switch action.name {
        case .terminate where action.status == .success: .success(answer: nil)
        case .terminate: .failure("the model reported that the task cannot be done")
        case .answer: .success(answer: action.text ?? "")
        default: .needsUser(action.text ?? "")
        }
    }

    /// Why an action gives up on the task, for the router: nil when it does not.
    static func givingUp(_ action: Action) -> String? {
        switch action.name {
        case .terminate where action.status != .success: "terminate failure"
        case .callUser: "call_user: \(action.text ?? "")"
        default: nil
        }
    }

    // MARK: Act

    /// Safety checks before an input action: the window allow-list, then the user's confirmation.
    private func check(_ resolved: ResolvedAction) async throws -> Confirmation {
        if let refusal = await WindowAllowList.refusal(of: resolved, allowed: options.allowedWindowClasses, windows: windows) {
            throw SafetyStop(outcome: .needsUser(refusal))
        }
        guard let confirm = options.confirm else { return .perform }
        return try await watch.race(deadline: nil, timeout: "") { await confirm(resolved) }
    }

    /// Why `resolved` must not be sent: the screen changed since the observation the model saw.
    /// A pointer action that opens its step compares the pixels around its target with a fresh capture.
    private func staleness(of resolved: ResolvedAction, observed: ScreenLayout, firstInStep: Bool, seen: RGBImage,
                           mapping: CoordinateMapping) async throws -> StaleScreen? {
        let now = try await windows.layout()
        let live = firstInStep && (resolved.point ?? resolved.startPoint) != nil && now.screen == observed.screen
            ? try await screen.capture() : nil
        return PreActionCheck.stale(resolved, observed: observed, now: now, firstInStep: firstInStep, seen: seen, live: live,
                                    imagePoint: mapping.imagePoint(forScreen:))
    }

    // MARK: Record

    /// One step as it goes into the session.
    private struct StepEntry {
        let step: Int
        let before: RGBImage
        let output: String
        let report: PlanReport
        let cost: ModelCall?
        let route: RouteRecord?
        var status: String
        var performed: [ResolvedAction] = []
        var after: RGBImage?
        var verification: Verification?
        var refused: RefusedAction?

        init(step: Int, before: RGBImage, output: String, report: PlanReport, cost: ModelCall?, route: RouteRecord?) {
            (self.step, self.before, self.output, self.report, self.cost, self.route) = (step, before, output, report, cost, route)
            status = report.status
        }
    }

    /// Writes a step to the session: its frames first, then its log line.
    private func record(_ entry: StepEntry, timings: StepTimings) async throws {
        let events = await input.drainSentEvents()
        guard let recorder else { return }
        var frames = StepRecord.Frames(before: try recorder.writeFrame(entry.before, name: String(format: "step-%04d-before", entry.step)))
        if let after = entry.after { frames.after = try recorder.writeFrame(after, name: String(format: "step-%04d-after", entry.step)) }
        var record = StepRecord(step: entry.step, frames: frames, output: entry.output, status: entry.status, plan: entry.report.record,
                                performed: entry.performed.map { PerformedAction($0, mapping: entry.report.mapping) })
        record.inputEvents = events.map(InputEventRecord.init)
        record.timingsMs = StepRecord.Timings(timings)
        record.modelCall = entry.cost
        record.route = entry.route
        record.verification = entry.verification?.description
        record.screenChanged = entry.verification.map { $0 != .unchanged }
        record.refused = entry.refused
        try recorder.append(record)
    }
}

/// A safety rule stopped the run before an action.
struct SafetyStop: Error {
    let outcome: Outcome
}
