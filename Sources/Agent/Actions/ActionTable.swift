import Foundation

/// The one action table: every action a model may ask for, its arguments, their kinds and defaults.
///
/// The tool schema in the model's prompt (``ToolSchema``), the parser's validation (``Action/init(name:arguments:)``),
/// the executor (``Executor``) and the `parse --json` output are all derived from this table; a test
/// fails if any of them disagrees with it. Names and arguments follow Qwen3-VL's `computer_use` tool,
/// plus Anthropic's mouse down/up and a `call_user` action for handing over to a person.
public enum ActionName: String, CaseIterable, Sendable, Codable {
    case key
    case type
    case mouseMove = "mouse_move"
    case leftClick = "left_click"
    case rightClick = "right_click"
    case middleClick = "middle_click"
    case doubleClick = "double_click"
    case tripleClick = "triple_click"
    case leftClickDrag = "left_click_drag"
    case leftMouseDown = "left_mouse_down"
    case leftMouseUp = "left_mouse_up"
    case scroll
    case hscroll
    case wait
    case terminate
    case answer
    case callUser = "call_user"
}

/// One argument an action takes.
public struct ActionParameter: Sendable {
    public enum Kind: String, Sendable {
        /// `[x, y]` in the model's coordinate space.
        case point
        /// A list of key names pressed as a chord.
        case keys
        case text
        /// A whole number (scroll amount in wheel clicks).
        case integer
        /// Seconds.
        case seconds
        /// "success" or "failure".
        case status
    }

    public let name: String
    public let kind: Kind
    public let isRequired: Bool
    public let description: String
}

/// What the table knows about one action.
public struct ActionSpec: Sendable {
    public let name: ActionName
    public let summary: String
    public let parameters: [ActionParameter]
}

public enum ActionTable {
    /// Largest wheel turn, in clicks, one `scroll` may ask for.
    public static let maximumScroll = 50
    /// Longest `wait`, in seconds.
    public static let maximumWait = 60.0

    private static let coordinate = ActionParameter(
        name: "coordinate", kind: .point, isRequired: true,
        description: "(x, y): the point on the screen, in the coordinate space the system prompt states.")

    /// Every action, in the order the tool schema lists them.
    public static let all: [ActionSpec] = [
        ActionSpec(name: .key, summary: "Press keys in order and release them in reverse, as a chord, e.g. [\"ctrl\", \"c\"].",
                   parameters: [ActionParameter(name: "keys", kind: .keys, isRequired: true,
                                                description: "Key names: ctrl, shift, alt, super, enter, esc, tab, pagedown, f5, a single character, ...")]),
        ActionSpec(name: .type, summary: "Type a string of text on the keyboard; \\n presses Enter.",
                   parameters: [ActionParameter(name: "text", kind: .text, isRequired: true, description: "The text to type.")]),
        ActionSpec(name: .mouseMove, summary: "Move the cursor to a point.", parameters: [coordinate]),
        ActionSpec(name: .leftClick, summary: "Click the left mouse button at a point.", parameters: [coordinate]),
        ActionSpec(name: .rightClick, summary: "Click the right mouse button at a point.", parameters: [coordinate]),
        ActionSpec(name: .middleClick, summary: "Click the middle mouse button at a point.", parameters: [coordinate]),
        ActionSpec(name: .doubleClick, summary: "Double-click the left mouse button at a point.", parameters: [coordinate]),
        ActionSpec(name: .tripleClick, summary: "Triple-click the left mouse button at a point (selects a line).", parameters: [coordinate]),
        ActionSpec(name: .leftClickDrag, summary: "Drag with the left button held from the cursor (or start_coordinate) to a point.",
                   parameters: [coordinate, ActionParameter(name: "start_coordinate", kind: .point, isRequired: false,
                                                            description: "Where the drag starts; the current cursor position if omitted.")]),
        ActionSpec(name: .leftMouseDown, summary: "Press the left mouse button and keep it down.", parameters: []),
        ActionSpec(name: .leftMouseUp, summary: "Release the left mouse button.", parameters: []),
        ActionSpec(name: .scroll, summary: "Turn the mouse wheel where the cursor is (or at coordinate).",
                   parameters: [ActionParameter(name: "pixels", kind: .integer, isRequired: true,
                                                description: "Wheel clicks: positive scrolls up, negative scrolls down."),
                                ActionParameter(name: "coordinate", kind: .point, isRequired: false, description: "Where to scroll.")]),
        ActionSpec(name: .hscroll, summary: "Turn the mouse wheel horizontally where the cursor is (or at coordinate).",
                   parameters: [ActionParameter(name: "pixels", kind: .integer, isRequired: true,
                                                description: "Wheel clicks: positive scrolls right, negative scrolls left."),
                                ActionParameter(name: "coordinate", kind: .point, isRequired: false, description: "Where to scroll.")]),
        ActionSpec(name: .wait, summary: "Wait for the screen to change.",
                   parameters: [ActionParameter(name: "time", kind: .seconds, isRequired: true, description: "Seconds to wait.")]),
        ActionSpec(name: .terminate, summary: "End the task and report whether it succeeded.",
                   parameters: [ActionParameter(name: "status", kind: .status, isRequired: true, description: "\"success\" or \"failure\".")]),
        ActionSpec(name: .answer, summary: "Answer the user's question.",
                   parameters: [ActionParameter(name: "text", kind: .text, isRequired: true, description: "The answer.")]),
        ActionSpec(name: .callUser, summary: "Stop and ask the user to act (a login, a CAPTCHA, a confirmation).",
                   parameters: [ActionParameter(name: "text", kind: .text, isRequired: true, description: "What the user should do.")]),
    ]

    public static func spec(for name: ActionName) -> ActionSpec {
        all.first { $0.name == name }!
    }

    /// Spellings models use for action names that are not in the table (UI-TARS, Anthropic, mobile_use).
    static let aliases: [String: ActionName] = [
        "click": .leftClick, "left_single": .leftClick, "tap": .leftClick, "left_double": .doubleClick,
        "right_single": .rightClick, "double_left_click": .doubleClick, "hover": .mouseMove, "move": .mouseMove,
        "drag": .leftClickDrag, "hotkey": .key, "press": .key, "keypress": .key, "write": .type, "input": .type,
        "finished": .terminate, "finish": .terminate, "done": .terminate, "call_user_for_help": .callUser,
        "needs_user": .callUser, "sleep": .wait,
    ]

    /// The table entry a spelling means, or nil.
    public static func name(for spelling: String) -> ActionName? {
        let normalized = spelling.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        return ActionName(rawValue: normalized) ?? aliases[normalized]
    }
}
