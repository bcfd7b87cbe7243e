import Units

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

/// Where one step's time went. Everything but `think` is the agent's own overhead.
public struct StepTimings: Sendable, Equatable, CustomStringConvertible {
    public var capture: Duration = .zero
    public var think: Duration = .zero
    public var parse: Duration = .zero
    public var act: Duration = .zero
    /// Waiting for the screen to stop changing, and comparing it with the step's start.
    public var settle: Duration = .zero

    public init() {}

    public var overhead: Duration { capture + parse + act + settle }

    public var description: String {
        func ms(_ d: Duration) -> String { "\(Int(d.milliseconds.rounded())) ms" }
        return "think \(ms(think)), capture \(ms(capture)), parse \(ms(parse)), act \(ms(act)), settle \(ms(settle))"
    }
}
