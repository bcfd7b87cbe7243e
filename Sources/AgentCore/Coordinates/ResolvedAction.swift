public import Imaging

/// An action with its points mapped to root-window pixels, ready for XTest.
public struct ResolvedAction: Sendable, CustomStringConvertible {
    public let action: Action
    /// `coordinate` in screen pixels.
    public let point: Point?
    /// `start_coordinate` in screen pixels.
    public let startPoint: Point?

    /// Maps the action's points through `mapping`; an out-of-range point is an error, never clamped.
    public init(_ action: Action, mapping: CoordinateMapping) throws(CoordinateError) {
        self.action = action
        point = try action.point.map { point throws(CoordinateError) in try mapping.screenPoint(for: point) }
        startPoint = try action.startPoint.map { point throws(CoordinateError) in try mapping.screenPoint(for: point) }
    }

    /// An action whose screen points are already known (a replayed step).
    public init(_ action: Action, point: Point?, startPoint: Point?) {
        self.action = action
        self.point = point
        self.startPoint = startPoint
    }

    public var description: String {
        var parts = [action.name.rawValue]
        if let startPoint { parts.append("from \(startPoint)") }
        if let point { parts.append(startPoint == nil && action.name != .leftClickDrag ? "at \(point)" : "to \(point)") }
        if let keys = action.keys { parts.append(keys.joined(separator: "+")) }
        if let text = action.text { parts.append(String(reflecting: text)) }
        if let amount = action.amount {
            let direction = action.name == .hscroll ? (amount > 0 ? "right" : "left") : (amount > 0 ? "up" : "down")
            parts.append("\(abs(amount)) clicks \(direction)")
        }
        if let seconds = action.seconds { parts.append("\(ModelPoint.format(seconds)) s") }
        if let status = action.status { parts.append(status.rawValue) }
        return parts.joined(separator: " ")
    }
}
