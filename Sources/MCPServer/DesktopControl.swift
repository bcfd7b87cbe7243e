import Agent
import AgentCore
import Desktop
import Foundation
import Imaging
import Logging
import MCP
import Synchronization
import Units

/// The screenshot and input tools' side of the server: screenshots as the agent takes them, and
/// single actions through the agent's coordinate contract, safety rules and executor, each recorded
/// as a step of one session that lasts as long as the server.
///
/// Each area worked on (the whole screen, a monitor) has its own ``X11Desktop``, the one owner of
/// its X connection; this actor only decides what to ask them.
actor DesktopControl {
    /// What the coordinates of the next action refer to: the last screenshot.
    struct View {
        var monitor: String?
        var area: Rect
        /// The screenshot's size as returned to the client.
        var sent: Size
    }

    /// A screenshot as the `screenshot` tool returns it.
    struct Screenshot {
        var png: [UInt8]
        var area: Rect
        var sent: Size
    }

    private let settings: MCPSettings
    private let logger: Logger
    private var desktops: [Rect: X11Desktop] = [:]
    private var view: View?
    private var recorder: SessionRecorder?
    private var steps = 0
    /// The X display's name as opened (for the session header).
    private var displayName = ""
    /// Set while `run_task` drives the desktop: the input tools wait their turn by refusing.
    private var runInProgress = false
    /// How many input tools are sending input right now.
    private var actionsInFlight = 0
    /// When the server started, for the session's outcome line.
    private let started = ContinuousClock.now
    /// What stops the action being sent: the input controllers check it at every event and let go of
    /// every key and button.
    nonisolated let flags = StopFlags()

    init(settings: MCPSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    // MARK: Screenshots

    func screenshot(monitor: String?) async throws -> Screenshot {
        let monitor = monitor ?? settings.monitor
        let desktop = try desktop(for: monitor)
        let captured = try await desktop.capture()
        let sent = ModelImage.prepare(captured, limits: settings.imageLimits, space: .relative1000).image
        view = View(monitor: monitor, area: desktop.area, sent: sent.size)
        return Screenshot(png: try PNG.encode(sent), area: desktop.area, sent: sent.size)
    }

    /// The coordinate space in words, for tool results.
    func coordinateSpace(sent: Size) -> String {
        switch settings.coordinates {
        case .relative: "coordinates are 0–1000 on both axes, relative to this screenshot"
        case .pixels: "coordinates are pixels of this \(sent) image"
        }
    }

    /// The screen as it is, unscaled, and the area it shows (the last screenshot's, or the configured one).
    func capture() async throws -> (RGBImage, Rect) {
        let desktop = try desktop(for: view?.monitor ?? settings.monitor)
        return (try await desktop.capture(), desktop.area)
    }

    /// The area the last screenshot showed (or the configured one, before any).
    func viewArea() throws -> Rect {
        try view?.area ?? desktop(for: settings.monitor).area
    }

    // MARK: Actions

    /// Performs one action through the agent's checks and executor and records it; returns what
    /// happened in one line. A bad point is `invalidParams`; a refusal is a ``Refusal``.
    func perform(_ action: Action, call: String, confirm: @Sendable (ResolvedAction) async -> Confirmation) async throws -> String {
        guard !runInProgress else { throw Refusal("run_task is driving the desktop; wait for it or cancel it") }
        let desktop = try desktop(for: view?.monitor ?? settings.monitor)
        let mapping = try mapping(for: desktop.area)
        let resolved: ResolvedAction
        do { resolved = try ResolvedAction(action, mapping: mapping) } catch { throw MCPError.invalidParams(error.message) }
        if let refusal = await WindowAllowList.refusal(of: resolved, allowed: settings.allowedWindowClasses, windows: desktop) {
            throw Refusal(refusal)
        }
        switch await confirm(resolved) {
        case .perform, .performAll: break
        case .skip, .stop: throw Refusal("the user declined: \(settings.masked(resolved.description))")
        }
        let before = try await desktop.capture()
        logger.info("mcp: \(settings.masked(resolved.description))")
        // The abort chord is grabbed while the action is sent, as for a run (which grabs it for its length).
        let hotkey: AbortHotkey
        do { hotkey = try AbortHotkey(chord: settings.abortKey, display: displayName) } catch { throw Refusal(error.message) }
        flags.begin(hotkey)
        actionsInFlight += 1
        defer {
            actionsInFlight -= 1
            flags.end()
        }
        do {
            try await withTaskCancellationHandler {
                try await desktop.perform(resolved)
            } onCancel: { [flags] in
                flags.cancelRequest()
            }
        } catch let error as DesktopError where error.code == .invalidArgument || error.code == .untypable {
            throw MCPError.invalidParams(error.message)
        } catch let error as DesktopError where error.code == .cancelled {
            let after = try await desktop.capture()
            if hotkey.isPressed || flags.serverStopping {
                try await record(resolved, call: call, status: "aborted", mapping: mapping, before: before, after: after, verification: nil, desktop: desktop)
                let why = hotkey.isPressed ? "the abort chord (\(settings.abortKey)) was pressed" : "the server is stopping"
                throw Aborted(message: "\(settings.masked(resolved.description)): aborted, \(why); stopped part-way, every key and button released")
            }
            // Recorded as far as it went; the client gets no answer (the MCP rule for a cancelled request).
            try await record(resolved, call: call, status: "cancelled", mapping: mapping, before: before, after: after, verification: nil, desktop: desktop)
            throw CancellationError()
        }
        let after = try await Settling(screen: desktop, ceiling: .seconds(2), isAborted: { false }, logger: logger).capture()
        let target = resolved.point.map(mapping.imagePoint(forScreen:))
        let verification = Verification(ScreenChange(from: before, to: after, near: target), hasTarget: target != nil)
        try await record(resolved, call: call, status: "ok", mapping: mapping, before: before, after: after, verification: verification, desktop: desktop)
        return "\(settings.masked(resolved.description)): \(verification)"
    }

    /// The server is ending: stops what is being sent, waits (a while) for the actions and the run in
    /// flight to let go of their input, and ends the input tools' session with an outcome line, so that
    /// `show` and `replay` read it like any run's.
    func stop(reason: String) async {
        flags.stopServer()
        let wasActing = actionsInFlight > 0 || runInProgress
        let deadline = ContinuousClock.now + .seconds(15)
        while (actionsInFlight > 0 || runInProgress) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard let recorder else { return }
        let detail = "\(steps) action(s) of an MCP client; \(reason)"
        let outcome = OutcomeRecord(outcome: wasActing ? Outcome.abortedByUser.kind : Outcome.success(answer: nil).kind, detail: detail,
                                    seconds: (ContinuousClock.now - started).seconds)
        do { try recorder.append(outcome) } catch { logger.error("mcp: cannot end the session: \(error)") }
    }

    /// Marks the desktop as driven by `run_task` (true) or free again (false); false when a run already drives it.
    func claimForRun(_ claim: Bool) -> Bool {
        if claim && runInProgress { return false }
        runInProgress = claim
        return true
    }

    /// The area and the coordinate mapping the next action is read in.
    private func mapping(for area: Rect) throws -> CoordinateMapping {
        switch settings.coordinates {
        case .relative:
            return CoordinateMapping(space: .relative1000, imageSize: area.size, imageOrigin: area.origin)
        case .pixels:
            guard let view else { throw MCPError.invalidParams("coordinates are pixels of the last screenshot, and there is none yet: call screenshot first") }
            return CoordinateMapping(space: .resizedPixels(view.sent), imageSize: area.size, imageOrigin: area.origin)
        }
    }

    private func desktop(for monitor: String?) throws -> X11Desktop {
        let display = try Display(name: settings.display, logger: logger)
        displayName = display.name
        let area = try monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
        if let desktop = desktops[area] { return desktop }
        let flags = flags
        let input = try InputController(display: display, isCancelled: { flags.isStopping })
        let desktop = X11Desktop(display: display, input: input, area: area)
        desktops[area] = desktop
        return desktop
    }

    private func record(_ resolved: ResolvedAction, call: String, status: String, mapping: CoordinateMapping, before: RGBImage, after: RGBImage,
                        verification: Verification?, desktop: X11Desktop) async throws {
        let events = await desktop.drainSentEvents()
        let recorder = try sessionRecorder(area: desktop.area)
        steps += 1
        let frames = StepRecord.Frames(before: try recorder.writeFrame(before, name: String(format: "step-%04d-before", steps)),
                                       after: try recorder.writeFrame(after, name: String(format: "step-%04d-after", steps)))
        var planned = PlanRecord.Action(action: resolved.action.name.rawValue)
        (planned.text, planned.keys, planned.amount) = (resolved.action.text, resolved.action.keys, resolved.action.amount)
        var record = StepRecord(step: steps, frames: frames, output: call, status: status,
                                plan: PlanRecord(status: "ok", mapping: mapping.description, source: "mcp", actions: [planned]),
                                performed: [PerformedAction(resolved, mapping: mapping)])
        record.inputEvents = events.map(InputEventRecord.init)
        record.verification = verification?.description
        record.screenChanged = verification.map { $0 != .unchanged }
        try recorder.append(record)
    }

    private func sessionRecorder(area: Rect) throws -> SessionRecorder {
        if let recorder { return recorder }
        let header = SessionHeader(task: "actions of an MCP client", profile: "none", model: RecordedModel(kind: "mcp-client", name: "qwen-agent mcp"),
                                   display: displayName, area: area,
                                   coordinateSpace: settings.coordinates == .relative ? .relative1000 : .imagePixels, shape: .instruct)
        let recorder = try SessionRecorder(directory: settings.sessionDirectory, secrets: settings.secrets, header: header)
        self.recorder = recorder
        return recorder
    }
}

/// What the input controllers watch between events: the client cancelled the request, the abort
/// chord was pressed, or the server is stopping.
final class StopFlags: Sendable {
    private let requestCancelled = Atomic(false)
    private let stopping = Atomic(false)
    private let hotkey = Mutex<AbortHotkey?>(nil)

    var isStopping: Bool {
        requestCancelled.load(ordering: .relaxed) || stopping.load(ordering: .relaxed) || hotkey.withLock { $0?.isPressed ?? false }
    }

    var serverStopping: Bool { stopping.load(ordering: .relaxed) }

    /// An action starts, with the chord grabbed for it.
    func begin(_ grabbed: AbortHotkey) {
        requestCancelled.store(false, ordering: .relaxed)
        hotkey.withLock { $0 = grabbed }
    }

    /// The action ended; its grab goes when the last reference does.
    func end() { hotkey.withLock { $0 = nil } }

    func cancelRequest() { requestCancelled.store(true, ordering: .relaxed) }

    func stopServer() { stopping.store(true, ordering: .relaxed) }
}

/// An input tool stopped part-way by the abort chord or the server stopping: the result is an error that says so.
struct Aborted: Error {
    let message: String
}

/// A safety rule or the user said no: the tool's result is an error that says why, and nothing was sent.
struct Refusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
