import Foundation
import Imaging

/// A model output parsed and mapped to the screen: what `qwen-agent parse` prints.
///
/// The JSON form is a stable format for scripts (documented in README.md): keys are never renamed,
/// only added. Top level: `status` (`ok`, a ``ParseFailure/Kind`` raw value, or
/// `coordinate_out_of_range`), `reason` when not ok, `source`, `shape`, `mapping`, `actions`,
/// `explanation`. Each action: `action` (its name in the action table), `x`/`y` (screen pixels),
/// `x2`/`y2` for a drag's end with `x`/`y` its start, `text`, `keys`, `amount`, `seconds`,
/// `terminate_status`, `model` (the points as the model wrote them) and `span` (UTF-8 offsets).
public struct PlanReport: Sendable {
    public let shape: OutputShape
    public let mapping: CoordinateMapping
    public let plan: Plan?
    public let failure: ParseFailure?
    public let resolved: [ResolvedAction]
    /// The first action whose point is outside the model's space, and why.
    public let mappingFailure: (index: Int, error: CoordinateError)?

    public init(text: String, shape: OutputShape, mapping: CoordinateMapping) {
        self.shape = shape
        self.mapping = mapping
        var plan: Plan?, failure: ParseFailure?
        do { plan = try StepParser.parse(text, shape: shape) } catch { failure = error }
        self.plan = plan
        self.failure = failure
        var resolved: [ResolvedAction] = []
        var mappingFailure: (Int, CoordinateError)?
        for (index, planned) in (plan?.actions ?? []).enumerated() {
            do {
                resolved.append(try ResolvedAction(planned.action, mapping: mapping))
            } catch {
                mappingFailure = (index, error)
                break
            }
        }
        self.resolved = resolved
        self.mappingFailure = mappingFailure
    }

    /// `ok`, or what went wrong.
    public var status: String {
        if let failure { return failure.kind.rawValue }
        if mappingFailure != nil { return "coordinate_out_of_range" }
        return "ok"
    }

    public var isSuccess: Bool { status == "ok" }

    public var jsonObject: [String: Any] {
        var object: [String: Any] = ["status": status, "shape": shape.rawValue, "mapping": mapping.description]
        if let failure {
            object["reason"] = failure.reason
            object["excerpt"] = failure.excerpt
            if let span = failure.span { object["span"] = [span.lowerBound, span.upperBound] }
        }
        if let plan {
            object["source"] = plan.source.rawValue
            object["explanation"] = plan.explanation
            object["actions"] = plan.actions.enumerated().map { index, planned in
                actionObject(planned, resolved: index < resolved.count ? resolved[index] : nil)
            }
        } else {
            object["actions"] = [Any]()
        }
        if let (index, error) = mappingFailure {
            object["reason"] = "action \(index + 1) (\(plan!.actions[index].action.name.rawValue)): \(error.message)"
        }
        return object
    }

    public var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func actionObject(_ planned: PlannedAction, resolved: ResolvedAction?) -> [String: Any] {
        let action = planned.action
        var object: [String: Any] = ["action": action.name.rawValue, "span": [planned.span.lowerBound, planned.span.upperBound]]
        if let resolved {
            if let start = resolved.startPoint, let end = resolved.point {
                object["x"] = start.x; object["y"] = start.y; object["x2"] = end.x; object["y2"] = end.y
            } else if let point = resolved.point {
                object[action.name == .leftClickDrag ? "x2" : "x"] = point.x
                object[action.name == .leftClickDrag ? "y2" : "y"] = point.y
            }
        }
        var model: [String: Any] = [:]
        if let point = action.point { model["coordinate"] = [point.x, point.y] }
        if let start = action.startPoint { model["start_coordinate"] = [start.x, start.y] }
        if !model.isEmpty { object["model"] = model }
        if let text = action.text { object["text"] = text }
        if let keys = action.keys { object["keys"] = keys }
        if let amount = action.amount { object["amount"] = amount }
        if let seconds = action.seconds { object["seconds"] = seconds }
        if let status = action.status { object["terminate_status"] = status.rawValue }
        if let label = planned.label { object["label"] = label }
        return object
    }

    /// The plan for a person: one line per action with its screen coordinates, or the failure.
    public var humanReadable: String {
        var lines: [String] = []
        if let failure {
            lines.append("could not parse (\(failure.kind.rawValue)): \(failure.reason)")
            if !failure.excerpt.isEmpty { lines.append("  offending text: \(failure.excerpt.replacingOccurrences(of: "\n", with: "⏎"))") }
            return lines.joined(separator: "\n")
        }
        guard let plan else { return "" }
        lines.append("plan from \(plan.source.rawValue.replacingOccurrences(of: "_", with: " ")), \(plan.actions.count) action(s); coordinates: \(mapping)")
        for (index, planned) in plan.actions.enumerated() {
            let line = index < resolved.count ? resolved[index].description : "\(planned.action)"
            lines.append("  \(index + 1). \(line)")
            if index == mappingFailure?.index { lines.append("     ✗ \(mappingFailure!.error.message)") }
        }
        if !plan.explanation.isEmpty {
            lines.append("steps the model wrote:")
            lines += plan.explanation.map { "  - \($0.replacingOccurrences(of: "\n", with: " "))" }
        }
        return lines.joined(separator: "\n")
    }
}
