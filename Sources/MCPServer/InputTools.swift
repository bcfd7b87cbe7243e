public import Agent
import Desktop
import Foundation
import MCP

/// How the input tools read `coordinate`.
public enum ToolCoordinates: String, Sendable, CaseIterable {
    /// 0–1000 on both axes, relative to the last screenshot's area (Qwen3-VL's space).
    case relative
    /// Pixels of the last screenshot as it was returned (after downscaling).
    case pixels
}

/// The input tools: each is one entry of the action table under the name MCP clients know, with the
/// `computer_use` argument names, so the schema, the checks and the executor are the agent's own.
enum InputTool: String, CaseIterable {
    case click
    case doubleClick = "double_click"
    case rightClick = "right_click"
    case drag
    case scroll
    case move
    case type
    case key

    var action: ActionName {
        switch self {
        case .click: .leftClick
        case .doubleClick: .doubleClick
        case .rightClick: .rightClick
        case .drag: .leftClickDrag
        case .scroll: .scroll
        case .move: .mouseMove
        case .type: .type
        case .key: .key
        }
    }

    var spec: ActionSpec { ActionTable.spec(for: action) }

    /// The tool as `tools/list` shows it: the action's summary and its arguments' JSON schema.
    func tool(coordinates: ToolCoordinates) -> Tool {
        var properties: [String: Value] = [:]
        for parameter in spec.parameters {
            properties[parameter.name] = Self.schema(for: parameter, coordinates: coordinates)
        }
        let required = spec.arguments.filter(\.isRequired).map { Value.string($0.parameter.name) }
        return Tool(name: rawValue, description: spec.summary, inputSchema: .object([
            "type": "object", "properties": .object(properties), "required": .array(required), "additionalProperties": false,
        ]), annotations: .init(readOnlyHint: false, destructiveHint: true, openWorldHint: false))
    }

    private static func schema(for parameter: ActionParameter, coordinates: ToolCoordinates) -> Value {
        switch parameter.kind {
        case .point:
            let space = switch coordinates {
            case .relative: "0–1000 on both axes, relative to the last screenshot's area"
            case .pixels: "pixels of the last screenshot as returned"
            }
            let what = parameter.name == "start_coordinate" ? "Where the drag starts (default: the cursor's position)" : "The point"
            return ["type": "array", "items": ["type": "number"], "minItems": 2, "maxItems": 2,
                    "description": .string("\(what): [x, y], x from the left edge and y from the top edge, in \(space).")]
        case .keys:
            return ["type": "array", "items": ["type": "string"], "minItems": 1, "description": .string(parameter.description)]
        case .text:
            return ["type": "string", "maxLength": .int(InputController.maxTypedCharacters), "description": .string(parameter.description)]
        case .scrollAmount, .seconds:
            return ["type": "number", "description": .string(parameter.description)]
        case .status:
            return ["type": "string", "enum": ["success", "failure"], "description": .string(parameter.description)]
        }
    }

    /// The action the arguments ask for, checked against the action table; a bad argument is an
    /// `invalidParams` error that names it.
    func action(arguments: [String: Value]?) throws(MCPError) -> Action {
        let given = arguments ?? [:]
        let known = spec.parameters.map(\.name)
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidParams("\(rawValue) takes \(known.joined(separator: ", ")); '\(unknown)' is not one of them")
        }
        if case .string(let text)? = given["text"], text.count > InputController.maxTypedCharacters {
            throw .invalidParams("\(rawValue) 'text' has \(text.count) characters; at most \(InputController.maxTypedCharacters) go in one call")
        }
        do {
            return try Action(name: action, arguments: given.mapValues(JSONValue.init))
        } catch {
            throw .invalidParams(error.message)
        }
    }
}

extension JSONValue {
    /// An MCP argument as the action table's parser reads it.
    init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .bool(let bool): self = .bool(bool)
        case .int(let int): self = .number(Double(int))
        case .double(let double): self = .number(double)
        case .string(let string): self = .string(string)
        case .data(_, let data): self = .string(data.base64EncodedString())
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(members.mapValues(JSONValue.init))
        }
    }
}
