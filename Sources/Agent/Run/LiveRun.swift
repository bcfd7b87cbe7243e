public import AgentCore
public import Desktop
public import Foundation
public import Imaging
public import Logging
import Models
import Units

/// One agent run on a live X display, from opening the display to letting go of every key: what
/// `qwen-agent "…"`, `qwen-agent serve` and `qwen-agent mcp` share.
///
/// It opens the display, grabs the abort chord for the run, starts the session folder, and drives an
/// ``AgentLoop`` through an ``X11Desktop``. The run stops at once when the chord is pressed or when
/// `options.isAborted` says so (a Ctrl-C, a web page's Abort button, a client's cancellation).
public struct LiveRun: Sendable {
    /// Where and how the run happens; everything but the task and the models.
    public struct Settings: Sendable {
        /// The X display (nil: `$DISPLAY`).
        public var display: String?
        /// The monitor to work on (nil: the whole screen).
        public var monitor: String?
        /// The abort chord, grabbed on the X server for the run.
        public var abortKey = "ctrl+alt+Escape"
        /// The session folder (nil: a new one under the sessions directory).
        public var sessionDirectory: URL?
        /// Text masked wherever it would be recorded.
        public var secrets: [String] = []
        /// Safety and pacing; its `isAborted` is watched together with the abort chord.
        public var options = RunOptions()

        public init() {}
    }

    /// What the run is about to work on, told before the first step.
    public struct Start: Sendable {
        public let display: String
        public let area: Rect
        public let session: URL
    }

    public let task: String
    public let models: StepModels
    public let settings: Settings

    public init(task: String, models: StepModels, settings: Settings) {
        self.task = task
        self.models = models
        self.settings = settings
    }

    /// Runs the task to an outcome. Throws only when the run cannot start (no display, a bad abort
    /// chord or monitor name, a session folder that cannot be written); everything after is an ``Outcome``.
    public func run(events: AgentEvents, logger: Logger, started: (Start) -> Void = { _ in }) async throws -> Outcome {
        let display = try Display(name: settings.display, logger: logger)
        let hotkey = try AbortHotkey(chord: settings.abortKey, display: display.name)
        let external = settings.options.isAborted
        let aborted: @Sendable () -> Bool = { external() || hotkey.isPressed }
        let input = try InputController(display: display, isCancelled: aborted)
        let area = try settings.monitor.map { try display.monitor(named: $0).bounds } ?? display.screenBounds()
        let lead = models.lead
        let recorder = try SessionRecorder(
            directory: settings.sessionDirectory, secrets: settings.secrets,
            header: SessionHeader(task: task, profile: lead.profile.name, model: RecordedModel(lead.model.identity), display: display.name,
                                  area: area, coordinateSpace: lead.profile.coordinateSpace, shape: lead.profile.shape))
        // A lost X server ends the process inside Xlib; the session still gets its outcome line.
        let begun = ContinuousClock.now
        nonisolated(unsafe) let lastRecorder = recorder // only this one append, made as the process ends
        let lastWords = LastWords { reason in
            try? lastRecorder.append(OutcomeRecord(.error(reason), seconds: (ContinuousClock.now - begun).seconds))
        }
        started(Start(display: display.name, area: area, session: recorder.directory))
        var options = settings.options
        options.isAborted = aborted
        let desktop = X11Desktop(display: display, input: input, area: area, monitor: settings.monitor)
        let loop = AgentLoop(screen: desktop, input: desktop, windows: desktop, models: models, options: options,
                             events: events, recorder: recorder, logger: logger)
        let outcome = await loop.run(task: task)
        withExtendedLifetime(hotkey) {}
        _ = consume lastWords
        return outcome
    }
}
