import Qwen3VL

/// The `computer_use` tool definition for the model's system prompt, generated from the ``ActionTable``.
public enum ToolSchema {
    /// The function JSON (one line, keys in a fixed order, printed as the chat template's `tojson`
    /// prints it) that goes inside `<tools></tools>`.
    ///
    /// - Parameter resolution: what the description tells the model the screen measures, in the
    ///   coordinate space it should answer in ("1000x1000" for Qwen3-VL's relative coordinates).
    public static func computerUse(resolution: String, actions: [ActionSpec] = ActionTable.all) -> String {
        let actionList = actions.map { "* `\($0.name.rawValue)`: \($0.summary)" }.joined(separator: "\n")
        typealias JSON = Qwen3VL.OrderedJSON
        var properties: [(key: String, value: JSON)] = [
            ("action", .object([
                ("description", .string("The action to perform. The available actions are:\n\(actionList)")),
                ("enum", .array(actions.map { .string($0.name.rawValue) })),
                ("type", .string("string")),
            ])),
        ]
        var seen: Set<String> = []
        for spec in actions {
            for parameter in spec.parameters where seen.insert(parameter.name).inserted {
                let users = actions.filter { $0.parameters.contains { $0.name == parameter.name } }.map { "`\($0.name.rawValue)`" }
                var fields: [(key: String, value: JSON)] = [
                    ("description", .string("\(parameter.description) Used by \(users.joined(separator: ", ")).")),
                ]
                switch parameter.kind {
                case .point: fields.append(("type", .string("array")))
                case .keys: fields.append(("type", .string("array")))
                case .text: fields.append(("type", .string("string")))
                case .integer, .seconds: fields.append(("type", .string("number")))
                case .status:
                    fields.append(("enum", .array([.string("success"), .string("failure")])))
                    fields.append(("type", .string("string")))
                }
                properties.append((parameter.name, .object(fields)))
            }
        }
        let description = """
            Use a mouse and keyboard to interact with a computer, and take screenshots.
            * This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. You must click on desktop icons to start applications.
            * Some applications may take time to start or process actions, so you may need to wait and take successive screenshots to see the results of your actions.
            * The screen's resolution is \(resolution).
            * Whenever you intend to move the cursor to click on an element like an icon, you should consult a screenshot to determine the coordinates of the element before moving the cursor.
            * Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. Don't click boxes on their edges unless asked.
            """
        let function: JSON = .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string("computer_use")),
                ("description", .string(description)),
                ("parameters", .object([
                    ("properties", .object(properties)),
                    ("required", .array([.string("action")])),
                    ("type", .string("object")),
                ])),
            ])),
        ])
        return function.json
    }
}
