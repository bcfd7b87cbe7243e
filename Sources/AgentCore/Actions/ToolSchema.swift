import Foundation
public import Imaging
public import Qwen3VLPrompt

/// What a profile may change in the `computer_use` tool: the extensions it offers, and any text the
/// model was trained on in place of ours.
public struct ToolOptions: Sendable, Equatable {
    /// Extension actions and arguments to offer (``ActionTable/extensionNames``); the parser accepts them either way.
    public var extensions: Set<String> = []
    /// The tool's description; `{resolution}` stands for the screen's size in the model's coordinate space.
    public var description: String?
    /// The line before the list of actions.
    public var actionHeading: String?
    /// An action's line in that list, by action.
    public var actionDescriptions: [ActionName: String] = [:]
    /// An argument's whole description, by argument name.
    public var parameterDescriptions: [String: String] = [:]

    public init() {}
}

/// The `computer_use` tool definition for the model's system prompt, generated from the ``ActionTable``.
public enum ToolSchema {
    /// Where a profile's own tool description puts the screen's size.
    public static let resolutionPlaceholder = "{resolution}"

    /// Our wording of the trained tool's description: what the tool is, the wait-and-look-again
    /// advice, the screen's size, and where to aim.
    static let description = """
        Operate a computer with its mouse and keyboard, seeing the screen through screenshots.
        * The interface is a desktop GUI with no terminal: start programs from what the screen shows.
        * Programs can be slow to start or to react, so an action may show its result only later: wait, then check the new screenshot before acting again.
        * The screen's resolution is \(resolutionPlaceholder).
        * Read an element's coordinates off the latest screenshot before moving the cursor to it.
        * Aim at the centre of buttons, links, icons and fields; do not click on their edges.
        """

    static let actionHeading = "The action to take. The choices are:"

    /// The actions `options` offers, in table order.
    public static func offeredActions(_ options: ToolOptions = ToolOptions()) -> [ActionSpec] {
        ActionTable.all.filter { !$0.isExtension || options.extensions.contains($0.name.rawValue) }
    }

    /// The function object that goes inside `<tools></tools>` (keys in a fixed order; `.json` prints it
    /// as the chat template's `tojson` does).
    ///
    /// - Parameter resolution: the screen's size in the coordinate space the model answers in
    ///   (1000x1000 for Qwen3-VL's relative coordinates).
    public static func computerUse(resolution: Size, options: ToolOptions = ToolOptions()) -> Qwen3VL.OrderedJSON {
        let actions = offeredActions(options)
        let actionList = actions.map { "* `\($0.name.rawValue)`: \(options.actionDescriptions[$0.name] ?? $0.summary)" }
        var properties: [(key: String, value: Qwen3VL.OrderedJSON)] = [
            ("action", .object([
                ("description", .string(([options.actionHeading ?? actionHeading] + actionList).joined(separator: "\n"))),
                ("enum", .array(actions.map { .string($0.name.rawValue) })),
                ("type", .string("string")),
            ])),
        ]
        let offered = actions.flatMap(\.parameters).filter { !$0.isExtension || options.extensions.contains($0.name) }
        var seen: Set<String> = []
        for parameter in offered where seen.insert(parameter.name).inserted {
            var fields: [(key: String, value: Qwen3VL.OrderedJSON)] = [
                ("description", .string(options.parameterDescriptions[parameter.name] ?? "\(parameter.description) \(usage(of: parameter, in: actions))")),
            ]
            switch parameter.kind {
            case .point, .keys: fields.append(("type", .string("array")))
            case .text: fields.append(("type", .string("string")))
            case .scrollAmount, .seconds: fields.append(("type", .string("number")))
            case .status:
                fields.append(("enum", .array([.string(TerminateStatus.success.rawValue), .string(TerminateStatus.failure.rawValue)])))
                fields.append(("type", .string("string")))
            }
            properties.append((parameter.name, .object(fields)))
        }
        let text = (options.description ?? description).replacingOccurrences(of: resolutionPlaceholder, with: resolution.description)
        return .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string("computer_use")),
                ("description", .string(text)),
                ("parameters", .object([
                    ("properties", .object(properties)),
                    ("required", .array([.string("action")])),
                    ("type", .string("object")),
                ])),
            ])),
        ])
    }

    /// "Required for `key`." or "Required for `left_click`, …; optional for `scroll`, `hscroll`."
    private static func usage(of parameter: ActionParameter, in actions: [ActionSpec]) -> String {
        func names(required: Bool) -> String {
            actions.filter { $0.arguments.contains { $0.parameter.name == parameter.name && $0.isRequired == required } }
                .map { "`\($0.name.rawValue)`" }.joined(separator: ", ")
        }
        let (required, optional) = (names(required: true), names(required: false))
        return [required.isEmpty ? nil : "Required for \(required)", optional.isEmpty ? nil : "optional for \(optional)"]
            .compactMap { $0 }.joined(separator: "; ").capitalizingFirst + "."
    }
}

extension String {
    fileprivate var capitalizingFirst: String { prefix(1).uppercased() + dropFirst() }
}
