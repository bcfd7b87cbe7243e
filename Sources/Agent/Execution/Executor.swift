public import AgentCore
public import Desktop
import Imaging
import Foundation
import Keys

/// What performing an action means for the run.
public enum ActionEffect: Equatable, Sendable {
    /// Input was sent; the run goes on.
    case performed
    /// The model asked to wait this long; the caller waits (cancellably: it is not a sleep here).
    case wait(Duration)
    /// The model ended the task.
    case finished(TerminateStatus)
    /// The model answered the user's question.
    case answered(String)
    /// The model handed over to a person.
    case needsUser(String)
}

/// Carries out actions from the ``ActionTable`` with XTest: every entry has a case here.
public struct Executor {
    private let input: InputController

    public init(input: InputController) {
        self.input = input
    }

    /// Performs one resolved action.
    public func perform(_ resolved: ResolvedAction) throws(DesktopError) -> ActionEffect {
        let action = resolved.action
        switch action.name {
        case .key:
            try input.press(KeyChord(keys: action.keys ?? []))
        case .type:
            try input.type(action.text ?? "")
        case .mouseMove:
            try input.move(to: try required(resolved.point, action))
        case .leftClick:
            try input.click(.left, at: try required(resolved.point, action))
        case .rightClick:
            try input.click(.right, at: try required(resolved.point, action))
        case .middleClick:
            try input.click(.middle, at: try required(resolved.point, action))
        case .doubleClick:
            try input.click(.left, at: try required(resolved.point, action), count: 2)
        case .tripleClick:
            try input.click(.left, at: try required(resolved.point, action), count: 3)
        case .leftClickDrag:
            try input.drag(from: resolved.startPoint, to: try required(resolved.point, action))
        case .leftMouseDown:
            try input.press(.left, at: resolved.point)
        case .leftMouseUp:
            try input.release(.left, at: resolved.point)
        case .scroll, .hscroll:
            let amount = action.amount ?? 0
            let direction: ScrollDirection = action.name == .scroll ? (amount > 0 ? .up : .down) : (amount > 0 ? .right : .left)
            try input.scroll(direction, steps: abs(amount), at: resolved.point)
        case .wait:
            return .wait(.milliseconds(Int64(((action.seconds ?? 0) * 1000).rounded())))
        case .terminate:
            return .finished(action.status ?? .failure)
        case .answer:
            return .answered(action.text ?? "")
        case .callUser:
            return .needsUser(action.text ?? "")
        }
        return .performed
    }

    /// The XTest events sent since the last call (for session records).
    public func drainSentEvents() -> [SentInputEvent] { input.drainSentEvents() }

    private func required(_ point: Point?, _ action: Action) throws(DesktopError) -> Point {
        guard let point else { throw DesktopError(.invalidArgument, "\(action.name.rawValue) has no coordinate") }
        return point
    }
}
