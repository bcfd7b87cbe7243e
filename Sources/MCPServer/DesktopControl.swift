import Agent
import Desktop
import Foundation
import Imaging
import Logging
import MCP
import Synchronization

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
    /// Set when the client cancels the action being sent; the input controllers stop at their next event
    /// and let go of every key and button.
    private let cancelled = CancellationFlag()

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
        cancelled.flag.store(false, ordering: .relaxed)
        do {
            try await withTaskCancellationHandler {
                try await desktop.perform(resolved)
            } onCancel: { [cancelled] in
                cancelled.flag.store(true, ordering: .relaxed)
            }
        } catch let error as DesktopError where error.code == .invalidArgument || error.code == .untypable {
            throw MCPError.invalidParams(error.message)
        } catch let error as DesktopError where error.code == .cancelled {
            // Recorded as far as it went; the client gets no answer (the MCP rule for a cancelled request).
            let after = try await desktop.capture()
            try await record(resolved, call: call, status: "cancelled", mapping: mapping, before: before, after: after, verification: nil, desktop: desktop)
            throw CancellationError()
        }
        let after = try await Settling(screen: desktop, ceiling: .seconds(2), isAborted: { false }, logger: logger).capture()
        let target = resolved.point.map(mapping.imagePoint(forScreen:))
        let verification = Verification(ScreenChange(from: before, to: after, near: target), hasTarget: target != nil)
        try await record(resolved, call: call, status: "ok", mapping: mapping, before: before, after: after, verification: verification, desktop: desktop)
        return "\(settings.masked(resolved.description)): \(verification)"
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
        let cancelled = cancelled
        let input = try InputController(display: display, isCancelled: { cancelled.flag.load(ordering: .relaxed) })
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
                                   coordinateSpace: settings.coordinates == .relative ? "relative" : "pixels", shape: "instruct")
        let recorder = try SessionRecorder(directory: settings.sessionDirectory, secrets: settings.secrets, header: header)
        self.recorder = recorder
        return recorder
    }
}

/// A flag the input controllers watch between events.
final class CancellationFlag: Sendable {
    let flag = Atomic(false)
}

/// A safety rule or the user said no: the tool's result is an error that says why, and nothing was sent.
struct Refusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
