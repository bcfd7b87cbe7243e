public import AgentCore
public import Imaging


/// What a run reports while it goes, for progress output, web pages and sessions.
public struct AgentEvents: Sendable {
    /// A step begins; `model` says which model thinks it and why (a router's choice), when there is a choice.
    public var stepStarted: @Sendable (_ step: Int, _ model: String?) -> Void = { _, _ in }
    /// The screen as the step begins, before it is scaled for the model.
    public var observed: @Sendable (_ step: Int, _ screenshot: RGBImage) -> Void = { _, _ in }
    /// A piece of the model's reply, as it streams.
    public var text: @Sendable (String) -> Void = { _ in }
    /// What the model's backend is doing while no text arrives (reading a screenshot, waiting for a server).
    public var status: @Sendable (String) -> Void = { _ in }
    public var parsed: @Sendable (Int, PlanReport) -> Void = { _, _ in }
    public var acting: @Sendable (Int, ResolvedAction) -> Void = { _, _ in }
    public var verified: @Sendable (Int, Verification, StepTimings) -> Void = { _, _, _ in }
    /// Anything else worth a line: what a reply cost, an action the user skipped.
    public var note: @Sendable (String) -> Void = { _ in }
    public init() {}
}

/// What the user answered when asked to confirm an action (`--confirm`).
public enum Confirmation: Sendable, Equatable {
    /// Perform this action.
    case perform
    /// Perform this one and every later one without asking.
    case performAll
    /// Do not perform this action; the model is told, and the run goes on.
    case skip
    /// End the run (aborted by the user).
    case stop
}

/// Safety and pacing settings of a run.
public struct RunOptions: Sendable {
    /// Asked before each action that sends input (never before `wait`, `terminate`, `answer` or `call_user`).
    public var confirm: (@Sendable (ResolvedAction) async -> Confirmation)?
    /// Only act on windows whose `WM_CLASS` class is one of these (nil: any window).
    public var allowedWindowClasses: Set<String>?
    /// Watched during every wait (the model's reply, settling, `wait`, confirmation) and between actions.
    public var isAborted: @Sendable () -> Bool = { false }
    /// Replies in a row that cannot be used (unparsable, out of range) before the run ends in error.
    public var maxBadReplies = 3
    /// Steps in a row that change nothing before the run ends as failure.
    public var maxIneffectiveSteps = 4
    /// Actions in a row not sent because the screen changed after the model saw it, before the run ends in error.
    public var maxStaleRefusals = 3
    /// Longest wait for the screen to stop changing after an action.
    public var settleCeiling: Duration = .seconds(3)
    /// Time between the screenshots that decide whether the screen has settled.
    public var settleInterval: Duration = .milliseconds(50)
    /// How often waits look at the abort flag and the step's time limit.
    public var watchInterval: Duration = .milliseconds(20)
    public init() {}
}
