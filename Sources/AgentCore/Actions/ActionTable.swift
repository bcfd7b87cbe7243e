import Foundation

/// The one action table: every action a model may ask for, its arguments, their kinds and defaults.
///
/// The tool schema in the model's prompt (``ToolSchema``), the parser's validation (``Action/init(name:arguments:)``),
/// the executor (``Executor``) and the `parse --json` output are all derived from this table; a test
/// fails if any of them disagrees with it. The first fourteen actions are Qwen3-VL's `computer_use`
/// tool, in its order and with its argument names; the rest are extensions (Anthropic's mouse down/up,
/// a `call_user` action for handing over to a person, a drag's `start_coordinate`) that the parser
/// always accepts but the schema offers only when a profile turns them on.
public enum ActionName: String, CaseIterable, Sendable, Codable {
    case key
    case type
    case mouseMove = "mouse_move"
    case leftClick = "left_click"
    case leftClickDrag = "left_click_drag"
    case rightClick = "right_click"
    case middleClick = "middle_click"
    case doubleClick = "double_click"
    case tripleClick = "triple_click"
    case scroll
    case hscroll
    case wait
    case terminate
    case answer
    case leftMouseDown = "left_mouse_down"
    case leftMouseUp = "left_mouse_up"
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
        /// A scroll amount, turned into wheel clicks by ``ActionTable/wheelClicks(for:)``.
        case scrollAmount
        /// Seconds.
        case seconds
        /// "success" or "failure".
        case status
    }

    public let name: String
    public let kind: Kind
    /// What the argument is, for the tool schema; one text whichever action uses it.
    public let description: String
    /// Not part of the trained `computer_use` tool: offered only when a profile turns it on.
    public let isExtension: Bool

    init(_ name: String, _ kind: Kind, _ description: String, isExtension: Bool = false) {
        self.name = name
        self.kind = kind
        self.description = description
        self.isExtension = isExtension
    }
}

/// What the table knows about one action.
public struct ActionSpec: Sendable {
    public struct Argument: Sendable {
        public let parameter: ActionParameter
        public let isRequired: Bool
    }

    public let name: ActionName
    /// The action's one line in the tool schema.
    public let summary: String
    public let arguments: [Argument]
    /// Not part of the trained `computer_use` tool: offered only when a profile turns it on.
    public let isExtension: Bool

    public var parameters: [ActionParameter] { arguments.map(\.parameter) }

    init(_ name: ActionName, _ summary: String, required: [ActionParameter] = [], optional: [ActionParameter] = [],
         isExtension: Bool = false) {
        self.name = name
        self.summary = summary
        arguments = required.map { Argument(parameter: $0, isRequired: true) } + optional.map { Argument(parameter: $0, isRequired: false) }
        self.isExtension = isExtension
    }
}

public enum ActionTable {
    /// Longest `wait`, in seconds.
    public static let maximumWait = 60.0

    // MARK: Scroll amounts

    /// Scroll amounts up to this size are wheel clicks, as the official agents execute them
    /// (`pyautogui.scroll(n)` turns the wheel n clicks on X11).
    public static let largestClickAmount = 10
    /// Larger amounts are pixels: one wheel click moves most Linux toolkits 50–120 px (three lines in
    /// GTK and Qt, 100 px in Chromium), so 100 keeps a pixel-sized request within about a factor of two.
    public static let pixelsPerWheelClick = 100
    /// Most wheel clicks one `scroll` may turn; amounts beyond `maximumScrollClicks · pixelsPerWheelClick` are refused.
    public static let maximumScrollClicks = 50

    /// The rule in words, for the tool schema and error messages.
    static let scrollRule = "Amounts up to \(largestClickAmount) are wheel clicks; larger ones are pixels, "
        + "about \(pixelsPerWheelClick) per click (at most \(maximumScrollClicks * pixelsPerWheelClick))."

    /// Wheel clicks for a scroll amount, with its sign; nil when it is zero or too large.
    ///
    /// `|n| ≤ 10`: n clicks. `10 < |n| ≤ 5000`: pixels, `round(|n| / 100)` clicks but at least one
    /// (-300 → 3 clicks down, 40 → 1 click up).
    public static func wheelClicks(for amount: Double) -> Int? {
        guard amount.isFinite else { return nil }
        let size = abs(amount)
        let clicks: Int
        if size <= Double(largestClickAmount) {
            clicks = Int(size.rounded())
        } else if size <= Double(maximumScrollClicks * pixelsPerWheelClick) {
            clicks = max(1, Int((size / Double(pixelsPerWheelClick)).rounded()))
        } else {
            return nil
        }
        guard clicks > 0 else { return nil }
        return amount < 0 ? -clicks : clicks
    }

    // MARK: The table

    private static let keys = ActionParameter(
        "keys", .keys, "The keys of a chord, pressed in the order given: ctrl, shift, alt, super, enter, esc, tab, pagedown, f5, a single character, ...")
    private static let text = ActionParameter("text", .text, "The text to type, or to reply with.")
    private static let coordinate = ActionParameter(
        "coordinate", .point, "(x, y): x counted from the left edge and y from the top edge, in the resolution stated above.")
    private static let startCoordinate = ActionParameter(
        "start_coordinate", .point, "(x, y): where a drag starts, instead of the cursor's position.", isExtension: true)
    private static let pixels = ActionParameter(
        "pixels", .scrollAmount, "How far to scroll: positive up (or right), negative down (or left). " + scrollRule)
    private static let time = ActionParameter("time", .seconds, "Seconds to wait.")
    private static let status = ActionParameter("status", .status, "Whether the task was done.")

    /// Every action, in the order the tool schema lists them: the trained tool's, then the extensions.
    public static let all: [ActionSpec] = [
        ActionSpec(.key, "Press the keys in `keys` one after another and release them in reverse order, as a chord such as ctrl+c.", required: [keys]),
        ActionSpec(.type, "Type `text` on the keyboard; a newline presses Enter.", required: [text]),
        ActionSpec(.mouseMove, "Move the cursor to `coordinate`.", required: [coordinate]),
        ActionSpec(.leftClick, "Click the left mouse button at `coordinate`.", required: [coordinate]),
        ActionSpec(.leftClickDrag, "Hold the left mouse button down from the cursor's position to `coordinate`, then let go.",
                   required: [coordinate], optional: [startCoordinate]),
        ActionSpec(.rightClick, "Click the right mouse button at `coordinate`.", required: [coordinate]),
        ActionSpec(.middleClick, "Click the middle mouse button at `coordinate`.", required: [coordinate]),
        ActionSpec(.doubleClick, "Click the left mouse button twice, quickly, at `coordinate`.", required: [coordinate]),
        ActionSpec(.tripleClick, "Click the left mouse button three times, quickly, at `coordinate` (selects a line).", required: [coordinate]),
        ActionSpec(.scroll, "Turn the mouse wheel up or down by `pixels`, at `coordinate` if given.", required: [pixels], optional: [coordinate]),
        ActionSpec(.hscroll, "Turn the mouse wheel right or left by `pixels`, at `coordinate` if given.", required: [pixels], optional: [coordinate]),
        ActionSpec(.wait, "Do nothing for `time` seconds while the screen changes.", required: [time]),
        ActionSpec(.terminate, "Stop: the task is finished (`status` success) or cannot be done (`status` failure).", required: [status]),
        ActionSpec(.answer, "Reply to the user's question with `text`.", required: [text]),
        ActionSpec(.leftMouseDown, "Press the left mouse button and keep it down.", isExtension: true),
        ActionSpec(.leftMouseUp, "Let go of the left mouse button.", isExtension: true),
        ActionSpec(.callUser, "Stop and ask the user to act (a login, a CAPTCHA, a confirmation); `text` says what to do.",
                   required: [text], isExtension: true),
    ]

    public static func spec(for name: ActionName) -> ActionSpec {
        all.first { $0.name == name }!
    }

    /// The names a profile's `tool.extensions` may list: the extension actions and arguments.
    public static var extensionNames: [String] {
        var names = all.filter(\.isExtension).map(\.name.rawValue)
        for spec in all {
            for parameter in spec.parameters where parameter.isExtension && !names.contains(parameter.name) { names.append(parameter.name) }
        }
        return names
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
