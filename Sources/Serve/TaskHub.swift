import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import Logging
import Models
import Synchronization
import Units

/// The tasks started through the API, at most one running per X display, each run on its own task.
final class TaskHub: Sendable {
    private let backend: ServeBackend
    private let settings: ServeSettings
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var tasks: [String: AgentTask] = [:]
        var order: [String] = []
        var runningOn: [String: String] = [:]
        var nextID = 0
    }

    init(backend: ServeBackend, settings: ServeSettings, logger: Logger) {
        self.backend = backend
        self.settings = settings
        self.logger = logger
    }

    /// The display tasks run on: `--display`, else `$DISPLAY`.
    var displayName: String { settings.display ?? ProcessInfo.processInfo.environment["DISPLAY"] ?? "" }

    func task(_ id: String) -> AgentTask? { state.withLock { $0.tasks[id] } }

    var all: [AgentTask] { state.withLock { state in state.order.reversed().compactMap { state.tasks[$0] } } }

    /// Starts `request`; a bad request or a display already busy is a ``RequestProblem`` (400 or 409).
    func start(_ request: TaskRequest) throws(TaskRefusal) -> AgentTask {
        let text = request.task.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { throw .badRequest("task is empty; say what to do, e.g. {\"task\": \"log out of the app\"}") }
        if let maxSteps = request.maxSteps, maxSteps < 1 { throw .badRequest("max_steps must be at least 1") }
        var models: StepModels
        do {
            models = try backend.stepModels(request.profile)
        } catch {
            throw .badRequest("\(error)")
        }
        if let maxSteps = request.maxSteps { models = models.withStepLimit(maxSteps) }
        let display = displayName
        let task: AgentTask = try state.withLock { (state) throws(TaskRefusal) in
            if let busy = state.runningOn[display], let running = state.tasks[busy], !running.isFinished {
                throw .conflict("task \(busy) is still running on display \(display); abort it (POST /api/tasks/\(busy)/abort) or wait for its outcome")
            }
            state.nextID += 1
            let task = AgentTask(id: String(state.nextID), request: request, display: display)
            state.tasks[task.id] = task
            state.order.append(task.id)
            state.runningOn[display] = task.id
            return task
        }
        Task { [self] in
            let outcome = await run(task, models: models)
            task.finish(outcome)
            logger.info("task finished", metadata: ["id": "\(task.id)", "outcome": "\(outcome)"])
        }
        return task
    }

    /// Aborts every running task and waits (a few seconds at most) until each has let go of the display
    /// and of every key and button: the server is stopping.
    func abortAllAndWait() async {
        let running = all.filter { !$0.isFinished }
        for task in running { task.abort() }
        let deadline = ContinuousClock.now + .seconds(10)
        while running.contains(where: { !$0.isFinished }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func run(_ task: AgentTask, models: StepModels) async -> Outcome {
        let events = Self.events(for: task)
        if task.request.planOnly == true { return await plan(task, seat: models.lead, events: events) }
        var live = LiveRun.Settings()
        live.display = settings.display
        live.sessionDirectory = settings.sessionsFolder.appendingPathComponent(Self.sessionName(task: task.id))
        live.options.isAborted = { task.isAborted }
        if task.request.confirm == true { live.options.confirm = { await task.confirm($0) } }
        do {
            return try await LiveRun(task: task.request.task, models: models, settings: live).run(events: events, logger: logger) { start in
                task.sessionStarted(start.session.path)
                var event = TaskEvent("started", text: models.summary)
                event.session = start.session.lastPathComponent
                event.display = start.display
                event.width = start.area.width
                event.height = start.area.height
                task.emit(event)
            }
        } catch {
            return .error("\(error)")
        }
    }

    /// Plan only: one screenshot, one think, the plan drawn; no input is sent and no session written.
    private func plan(_ task: AgentTask, seat: ModelSeat, events: AgentEvents) async -> Outcome {
        do {
            let screenshot = try DisplaySnapshot.capture(display: settings.display, logger: logger)
            var started = TaskEvent("started", text: "plan only: \(seat.model.identity)  profile: \(seat.profile.name)")
            started.display = task.display
            task.emit(started)
            events.stepStarted(1, nil)
            events.observed(1, screenshot)
            let result = try await Planner(seat: seat).plan(task: task.request.task, screenshot: screenshot, origin: Point(x: 0, y: 0),
                                                            isAborted: { task.isAborted }) { event in
                switch event {
                case .text(let piece): events.text(piece)
                case .status(let status): events.status(status)
                case .cost(let cost): events.note(cost.description)
                }
            }
            events.parsed(1, result.report)
            if let reason = result.report.reason, !result.report.isSuccess { return .error("the plan cannot be used: \(reason)") }
            return .success(answer: "planned \(result.report.resolved.count) action(s); nothing was done")
        } catch WaitInterrupted.aborted {
            return .abortedByUser
        } catch {
            return .error("\(error)")
        }
    }

    /// What a run reports, as task events.
    private static func events(for task: AgentTask) -> AgentEvents {
        var events = AgentEvents()
        events.stepStarted = { step, model in
            var event = TaskEvent("step", step: step)
            event.model = model
            task.emit(event)
        }
        events.observed = { step, screenshot in
            task.observed(screenshot)
            var event = TaskEvent("screenshot", step: step)
            event.width = screenshot.width
            event.height = screenshot.height
            task.emit(event)
        }
        events.text = { piece in task.emit(TaskEvent("text", text: piece)) }
        events.status = { status in task.emit(TaskEvent("status", text: status)) }
        events.parsed = { step, report in
            task.planned(report)
            var event = TaskEvent("planned", step: step, text: AgentLoop.unusable(report).map { "\($0.status): \($0.reason)" })
            event.actions = report.resolved.map(\.description)
            task.emit(event)
        }
        events.acting = { step, resolved in task.emit(TaskEvent("acting", step: step, text: resolved.description)) }
        events.verified = { step, verification, timings in
            var event = TaskEvent("verified", step: step, text: verification.description)
            event.verification = verification.description
            event.timingsMs = ["think": timings.think.wholeMilliseconds, "capture": timings.capture.wholeMilliseconds,
                               "parse": timings.parse.wholeMilliseconds, "act": timings.act.wholeMilliseconds,
                               "settle": timings.settle.wholeMilliseconds]
            task.emit(event)
        }
        events.note = { note in task.emit(TaskEvent("note", text: note)) }
        return events
    }

    /// `YYYYMMDD-HHMMSS-serve-ID`: a folder of its own for each task, however many start in a second.
    private static func sessionName(task id: String) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "\(formatter.string(from: Date()))-serve\(getpid())-\(id)"
    }
}

/// Why a task was not started: a request that cannot be run (400), or the display is busy (409).
enum TaskRefusal: Error {
    case badRequest(String)
    case conflict(String)
}

/// One screenshot of the display, on a connection opened and closed for it.
enum DisplaySnapshot {
    static func capture(display name: String?, logger: Logger) throws -> RGBImage {
        let display = try Display(name: name, logger: logger)
        return try ScreenCapturer(display: display).capture()
    }
}
