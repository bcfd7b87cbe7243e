import Agent
import AgentCore
import Foundation
import Imaging
import Models
import Synchronization
import Units

/// What `POST /api/tasks` takes.
public struct TaskRequest: Decodable, Sendable {
    public var task: String
    /// An agent profile name (nil: the one `serve` was started with).
    public var profile: String?
    /// Think and draw the planned actions on a screenshot; send no input.
    public var planOnly: Bool?
    /// Wait for `POST /api/tasks/{id}/approve` before each action that sends input.
    public var confirm: Bool?
    public var maxSteps: Int?

    enum CodingKeys: String, CodingKey {
        case task, profile, confirm
        case planOnly = "plan_only", maxSteps = "max_steps"
    }
}

/// One thing that happened in a task, as the events API sends it. Fields a type does not use are left out.
struct TaskEvent: Encodable, Sendable {
    /// The event's number in its task, from 1: the SSE `id`, so a reconnecting client resumes after it.
    var seq = 0
    /// started, step, screenshot, status, text, planned, approval, acting, verified, note, outcome.
    let type: String
    /// Seconds since the task started.
    var time = 0.0
    var step: Int?
    var text: String?
    var model: String?
    var width: Int?
    var height: Int?
    var actions: [String]?
    var verification: String?
    var timingsMs: [String: Int]?
    var outcome: String?
    var session: String?
    var display: String?

    enum CodingKeys: String, CodingKey {
        case seq, type, time, step, text, model, width, height, actions, verification, outcome, session, display
        case timingsMs = "timings_ms"
    }

    init(_ type: String, step: Int? = nil, text: String? = nil) {
        self.type = type
        self.step = step
        self.text = text
    }

    /// The run is over after this one.
    var isLast: Bool { type == "outcome" }
}

/// What `POST /api/tasks/{id}/approve` answers to an action waiting in confirm mode.
enum ApprovalDecision: String, Decodable {
    case approve, approveAll = "approve_all", skip, stop

    var confirmation: Confirmation {
        switch self {
        case .approve: .perform
        case .approveAll: .performAll
        case .skip: .skip
        case .stop: .stop
        }
    }
}

/// One agent task started from the API: its events so far (kept, so a late page sees the whole run),
/// the pages listening, the action waiting for approval, the latest screenshot and the outcome.
final class AgentTask: Sendable {
    let id: String
    let request: TaskRequest
    let display: String
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    private struct State {
        var events: [TaskEvent] = []
        var listeners: [Int: AsyncStream<TaskEvent>.Continuation] = [:]
        var nextListener = 0
        var aborted = false
        var approvalsForAll = false
        var waiting: (action: String, answer: CheckedContinuation<Confirmation, Never>)?
        var screenshot: RGBImage?
        var plan: PlanReport?
        var outcome: Outcome?
        var session: String?
    }

    init(id: String, request: TaskRequest, display: String) {
        self.id = id
        self.request = request
        self.display = display
    }

    // MARK: What the run reports

    func emit(_ event: TaskEvent) {
        var event = event
        event.time = (ContinuousClock.now - started).seconds
        let listeners = state.withLock { state in
            event.seq = state.events.count + 1
            state.events.append(event)
            if event.isLast {
                let all = state.listeners
                state.listeners = [:]
                return all
            }
            return state.listeners
        }
        for listener in listeners.values {
            listener.yield(event)
            if event.isLast { listener.finish() }
        }
    }

    func observed(_ screenshot: RGBImage) {
        state.withLock { state in
            state.screenshot = screenshot
            state.plan = nil
        }
    }

    func planned(_ report: PlanReport) { state.withLock { $0.plan = report } }

    func sessionStarted(_ folder: String) { state.withLock { $0.session = folder } }

    func finish(_ outcome: Outcome) {
        state.withLock { $0.outcome = outcome }
        var event = TaskEvent("outcome", text: outcome.description)
        event.outcome = outcome.kind
        event.session = state.withLock { $0.session }
        emit(event)
    }

    // MARK: What the user does

    var isAborted: Bool { state.withLock { $0.aborted } }

    /// Stops the run at its next look at the flag; an action waiting for approval is answered "stop".
    func abort() {
        let waiting = state.withLock { state in
            state.aborted = true
            defer { state.waiting = nil }
            return state.waiting?.answer
        }
        waiting?.resume(returning: .stop)
    }

    /// Confirm mode: tells the pages what is about to happen and waits for `answer(_:)` (or an abort).
    func confirm(_ action: ResolvedAction) async -> Confirmation {
        if state.withLock({ $0.approvalsForAll }) { return .perform }
        let description = action.description
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let stopNow = state.withLock { state in
                    if state.aborted { return true }
                    state.waiting = (description, continuation)
                    return false
                }
                if stopNow {
                    continuation.resume(returning: .stop)
                } else {
                    emit(TaskEvent("approval", text: description))
                }
            }
        } onCancel: {
            // The loop stopped waiting (abort, time limit): let go of the question.
            let waiting = state.withLock { state in
                defer { state.waiting = nil }
                return state.waiting?.answer
            }
            waiting?.resume(returning: .stop)
        }
    }

    /// Answers the action waiting for approval; false when none waits.
    func answer(_ decision: ApprovalDecision) -> Bool {
        let waiting = state.withLock { state in
            if decision == .approveAll { state.approvalsForAll = true }
            defer { state.waiting = nil }
            return state.waiting?.answer
        }
        guard let waiting else { return false }
        emit(TaskEvent("approved", text: decision.rawValue))
        waiting.resume(returning: decision.confirmation)
        return true
    }

    // MARK: What the API shows

    /// The events so far, and (unless the run is over) a stream of the ones after them.
    func listen() -> (past: [TaskEvent], future: AsyncStream<TaskEvent>?) {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskEvent.self, bufferingPolicy: .bufferingNewest(4096))
        let (past, key) = state.withLock { state -> ([TaskEvent], Int?) in
            if state.outcome != nil { return (state.events, nil) }
            state.nextListener += 1
            state.listeners[state.nextListener] = continuation
            return (state.events, state.nextListener)
        }
        guard let key else {
            continuation.finish()
            return (past, nil)
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.listeners.removeValue(forKey: key) } }
        return (past, stream)
    }

    /// The latest screenshot with the planned actions drawn on it.
    func picture() -> RGBImage? {
        let (screenshot, plan) = state.withLock { ($0.screenshot, $0.plan) }
        guard let screenshot else { return nil }
        return plan.map { $0.picture(on: screenshot) } ?? screenshot
    }

    var summary: TaskSummary {
        state.withLock { state in
            TaskSummary(id: id, task: request.task, profile: request.profile, planOnly: request.planOnly ?? false,
                        confirm: request.confirm ?? false, display: display, state: state.outcome == nil ? "running" : "finished",
                        outcome: state.outcome?.kind, description: state.outcome?.description, session: state.session,
                        events: state.events.count, waitingForApproval: state.waiting?.action)
        }
    }

    var isFinished: Bool { state.withLock { $0.outcome != nil } }
}

/// `GET /api/tasks/{id}`.
struct TaskSummary: Encodable {
    let id: String
    let task: String
    let profile: String?
    let planOnly: Bool
    let confirm: Bool
    let display: String
    /// running or finished.
    let state: String
    let outcome: String?
    let description: String?
    let session: String?
    let events: Int
    let waitingForApproval: String?

    enum CodingKeys: String, CodingKey {
        case id, task, profile, confirm, display, state, outcome, description, session, events
        case planOnly = "plan_only", waitingForApproval = "waiting_for_approval"
    }
}
