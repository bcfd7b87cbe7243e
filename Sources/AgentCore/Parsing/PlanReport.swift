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

    /// Why the reply cannot be used, in one line; nil when it can.
    public var reason: String? {
        if let (index, error) = mappingFailure {
            return "action \(index + 1) (\(plan!.actions[index].action.name.rawValue)): \(error.message)"
        }
        return failure?.reason
    }

    /// The report as sessions and `parse --json` write it.
    public var record: PlanRecord {
        var record = PlanRecord(status: status, shape: shape.rawValue, mapping: mapping.description, source: plan?.source.rawValue,
                                actions: (plan?.actions ?? []).enumerated().map { index, planned in
                                    Self.actionRecord(planned, resolved: index < resolved.count ? resolved[index] : nil)
                                })
        record.reason = reason
        if let failure {
            record.excerpt = failure.excerpt
            record.span = failure.span.map { [$0.lowerBound, $0.upperBound] }
        }
        record.explanation = plan?.explanation
        return record
    }

    public var json: String {
        String(decoding: (try? SessionFormat.encoder.encode(record)) ?? Data(), as: UTF8.self)
    }

    private static func actionRecord(_ planned: PlannedAction, resolved: ResolvedAction?) -> PlanRecord.Action {
        let action = planned.action
        var record = PlanRecord.Action(action: action.name.rawValue)
        record.span = [planned.span.lowerBound, planned.span.upperBound]
        if let resolved {
            if let start = resolved.startPoint, let end = resolved.point {
                (record.x, record.y, record.x2, record.y2) = (start.x, start.y, end.x, end.y)
            } else if let point = resolved.point, action.name == .leftClickDrag {
                (record.x2, record.y2) = (point.x, point.y)
            } else if let point = resolved.point {
                (record.x, record.y) = (point.x, point.y)
            }
        }
        if action.point != nil || action.startPoint != nil {
            record.model = PlanRecord.ModelPoints(coordinate: action.point.map { [$0.x, $0.y] },
                                                  startCoordinate: action.startPoint.map { [$0.x, $0.y] })
        }
        record.text = action.text
        record.keys = action.keys
        record.amount = action.amount
        record.seconds = action.seconds
        record.terminateStatus = action.status?.rawValue
        record.label = planned.label
        return record
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
