import Foundation

/// A point in the model's coordinate space (see ``CoordinateMapping``), before any mapping.
public struct ModelPoint: Hashable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    public var description: String { "(\(Self.format(x)), \(Self.format(y)))" }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// How a task ended, as the model reported it with `terminate`.
public enum TerminateStatus: String, Sendable, Codable {
    case success, failure
}

/// One action a model asked for, validated against the ``ActionTable``; points are still in model space.
public struct Action: Hashable, Sendable, CustomStringConvertible {
    public let name: ActionName
    /// `coordinate`: where a click, move, drag end or scroll happens.
    public var point: ModelPoint?
    /// `start_coordinate`: where a drag starts (nil: the current cursor position).
    public var startPoint: ModelPoint?
    public var keys: [String]?
    public var text: String?
    /// `pixels` as wheel clicks (``ActionTable/wheelClicks(for:)``): positive up or right.
    public var amount: Int?
    public var seconds: Double?
    public var status: TerminateStatus?

    public init(_ name: ActionName, point: ModelPoint? = nil, startPoint: ModelPoint? = nil, keys: [String]? = nil,
                text: String? = nil, amount: Int? = nil, seconds: Double? = nil, status: TerminateStatus? = nil) {
        self.name = name
        self.point = point
        self.startPoint = startPoint
        self.keys = keys
        self.text = text
        self.amount = amount
        self.seconds = seconds
        self.status = status
    }

    /// Builds an action from a tool call's arguments, checking each against the table.
    public init(name: ActionName, arguments: [String: JSONValue]) throws(ActionError) {
        self.init(name)
        for argument in ActionTable.spec(for: name).arguments {
            let parameter = argument.parameter
            guard let value = arguments[parameter.name] ?? Self.alternative(for: parameter, in: arguments) else {
                if argument.isRequired {
                    throw ActionError("\(name.rawValue) needs '\(parameter.name)' (\(parameter.description))")
                }
                continue
            }
            try assign(value, to: parameter)
        }
    }

    /// Other keys models use for the same argument (`key`/`text` for `keys`, `duration` for `time`, ...).
    private static func alternative(for parameter: ActionParameter, in arguments: [String: JSONValue]) -> JSONValue? {
        let names: [String] = switch parameter.name {
        case "keys": ["key", "text", "hotkey"]
        case "text": ["content", "value"]
        case "time": ["duration", "seconds"]
        case "pixels": ["amount", "clicks", "scroll_amount"]
        case "coordinate": ["point", "position", "coordinates", "point_2d", "bbox_2d"]
        default: []
        }
        return names.lazy.compactMap { arguments[$0] }.first
    }

    private mutating func assign(_ value: JSONValue, to parameter: ActionParameter) throws(ActionError) {
        let what = "\(name.rawValue) '\(parameter.name)'"
        switch parameter.kind {
        case .point:
            let point = try Self.point(from: value, what: what)
            if parameter.name == "start_coordinate" { startPoint = point } else { self.point = point }
        case .keys:
            switch value {
            case .array(let items):
                keys = try items.map { item throws(ActionError) in
                    guard case .string(let key) = item, !key.isEmpty else { throw ActionError("\(what) must be a list of key names") }
                    return key
                }
            case .string(let chord):
                // "ctrl+c", or UI-TARS's space-separated "ctrl c".
                keys = chord.split(whereSeparator: { $0 == "+" || $0 == " " }).map(String.init)
                if chord == "+" || chord.hasSuffix("++") { keys = (keys ?? []) + ["+"] }
            default: throw ActionError("\(what) must be a list of key names")
            }
            guard keys?.isEmpty == false else { throw ActionError("\(what) is empty") }
        case .text:
            guard case .string(let string) = value else { throw ActionError("\(what) must be a string") }
            text = string
        case .scrollAmount:
            let number = try Self.number(from: value, what: what)
            guard let clicks = ActionTable.wheelClicks(for: number) else {
                throw ActionError("\(what) is \(ModelPoint.format(number)); it must not round to zero wheel clicks. \(ActionTable.scrollRule)")
            }
            amount = clicks
        case .seconds:
            let number = try Self.number(from: value, what: what)
            guard number >= 0, number <= ActionTable.maximumWait else {
                throw ActionError("\(what) is \(ModelPoint.format(number)) s; it must be between 0 and \(Int(ActionTable.maximumWait))")
            }
            seconds = number
        case .status:
            guard case .string(let string) = value, let status = TerminateStatus(rawValue: string.lowercased()) else {
                throw ActionError("\(what) must be \"success\" or \"failure\"")
            }
            self.status = status
        }
    }

    /// `[x, y]`, `[x1, y1, x2, y2]` (a box: its centre), `"(x, y)"`, `"x,y"` or `{"x": …, "y": …}`.
    static func point(from value: JSONValue, what: String) throws(ActionError) -> ModelPoint {
        var numbers: [Double] = []
        switch value {
        case .array(let items):
            numbers = try items.map { item throws(ActionError) in try number(from: item, what: what) }
        case .string(let string):
            numbers = string.split(whereSeparator: { !"0123456789.-+eE".contains($0) }).compactMap { Double($0) }
        case .object(let members):
            if let x = members["x"], let y = members["y"] { numbers = [try number(from: x, what: what), try number(from: y, what: what)] }
        default: break
        }
        guard numbers.allSatisfy(\.isFinite) else { throw ActionError("\(what) has a coordinate that is not a finite number") }
        switch numbers.count {
        case 2: return ModelPoint(x: numbers[0], y: numbers[1])
        case 4: return ModelPoint(x: (numbers[0] + numbers[2]) / 2, y: (numbers[1] + numbers[3]) / 2)
        default: throw ActionError("\(what) must be a point [x, y] (or a box [x1, y1, x2, y2])")
        }
    }

    private static func number(from value: JSONValue, what: String) throws(ActionError) -> Double {
        switch value {
        case .number(let number): return number
        case .string(let string):
            if let number = Double(string.trimmingCharacters(in: .whitespaces)), number.isFinite { return number }
        default: break
        }
        throw ActionError("\(what) must be a number")
    }

    public var description: String {
        var parts = [name.rawValue]
        if let startPoint { parts.append("from \(startPoint)") }
        if let point { parts.append(startPoint == nil && name == .leftClickDrag ? "to \(point)" : "\(point)") }
        if let keys { parts.append(keys.joined(separator: "+")) }
        if let text { parts.append(String(reflecting: text)) }
        if let amount { parts.append("\(amount) clicks") }
        if let seconds { parts.append("\(ModelPoint.format(seconds)) s") }
        if let status { parts.append(status.rawValue) }
        return parts.joined(separator: " ")
    }
}

/// Arguments that do not fit the action table.
public struct ActionError: Error, Hashable, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}
