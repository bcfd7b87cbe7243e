import Foundation

/// `pyautogui.click(x, y)`-style lines and UI-TARS actions (`click(start_box='(x,y)')`), read for
/// compatibility with agents and fine-tunes that emit them.
enum CompatibilityCalls {
    /// Function spellings this reader knows, UI-TARS and pyautogui alike.
    private static let functions: [String: ActionName] = [
        "pyautogui.click": .leftClick, "pyautogui.leftClick": .leftClick, "pyautogui.doubleClick": .doubleClick,
        "pyautogui.rightClick": .rightClick, "pyautogui.middleClick": .middleClick, "pyautogui.tripleClick": .tripleClick,
        "pyautogui.moveTo": .mouseMove, "pyautogui.dragTo": .leftClickDrag, "pyautogui.write": .type,
        "pyautogui.typewrite": .type, "pyautogui.press": .key, "pyautogui.hotkey": .key, "pyautogui.scroll": .scroll,
        "pyautogui.hscroll": .hscroll, "pyautogui.mouseDown": .leftMouseDown, "pyautogui.mouseUp": .leftMouseUp,
        "click": .leftClick, "left_single": .leftClick, "left_double": .doubleClick, "right_single": .rightClick,
        "drag": .leftClickDrag, "hotkey": .key, "type": .type, "scroll": .scroll, "wait": .wait, "finished": .terminate,
        "call_user": .callUser, "mouse_move": .mouseMove, "hover": .mouseMove,
    ]

    static func actions(in source: Source) throws(ParseFailure) -> [PlannedAction]? {
        var actions: [PlannedAction] = []
        var lineStart = source.answer.lowerBound
        let bytes = source.bytes
        while lineStart < source.answer.upperBound {
            let lineEnd = (lineStart..<source.answer.upperBound).first { bytes[$0] == 0x0A } ?? source.answer.upperBound
            if let action = try call(in: lineStart..<lineEnd, of: source) { actions.append(action) }
            lineStart = lineEnd + 1
        }
        return actions.isEmpty ? nil : actions
    }

    /// The call on one line: `[Action:] name(arguments)`, the name a known function.
    private static func call(in line: Range<Int>, of source: Source) throws(ParseFailure) -> PlannedAction? {
        let text = source.string(line).trimmed
        var body = Substring(text)
        for prefix in ["Action:", "action:", "动作：", "操作："] where body.hasPrefix(prefix) {
            body = body.dropFirst(prefix.count).drop(while: { $0 == " " })
        }
        guard let open = body.firstIndex(of: "("), body.hasSuffix(")") else { return nil }
        let function = String(body[..<open])
        guard let name = functions[function] else { return nil }
        let arguments = splitArguments(body[body.index(after: open)..<body.index(before: body.endIndex)])
        func fail(_ reason: String) -> ParseFailure { ParseFailure(.invalidArguments, reason, excerpt: text, span: line) }
        let positional = arguments.filter { $0.key == nil }.map(\.value)
        let named = Dictionary(arguments.compactMap { argument in argument.key.map { ($0, argument.value) } }) { $1 }
        let numbers = positional.compactMap { Double($0) }
        func boxPoint(_ key: String) -> ModelPoint? {
            guard let box = named[key] else { return nil }
            return try? Action.point(from: .string(box), what: key)
        }
        let point = boxPoint("start_box") ?? boxPoint("point") ?? (numbers.count >= 2 ? ModelPoint(x: numbers[0], y: numbers[1]) : nil)
            ?? (named["x"].flatMap(Double.init).flatMap { x in named["y"].flatMap(Double.init).map { ModelPoint(x: x, y: $0) } })
        var action: Action
        switch name {
        case .leftClick, .doubleClick, .rightClick, .middleClick, .tripleClick, .mouseMove:
            guard let point else { throw fail("\(function) needs a point") }
            var resolved = name
            if name == .leftClick, let clicks = named["clicks"].flatMap(Int.init), clicks > 1 { resolved = clicks == 2 ? .doubleClick : .tripleClick }
            if name == .leftClick, named["button"] == "right" { resolved = .rightClick }
            action = Action(resolved, point: point)
        case .leftClickDrag:
            if let start = boxPoint("start_box"), let end = boxPoint("end_box") {
                action = Action(.leftClickDrag, point: end, startPoint: start)
            } else if let point {
                action = Action(.leftClickDrag, point: point)
            } else { throw fail("\(function) needs an end point") }
        case .type:
            guard let text = named["content"] ?? named["text"] ?? positional.first else { throw fail("\(function) needs text") }
            action = Action(.type, text: text.replacingOccurrences(of: "\\n", with: "\n"))
        case .key:
            let keys = named["key"].map { $0.split(separator: " ").map(String.init) } ?? positional
            guard !keys.isEmpty else { throw fail("\(function) needs keys") }
            action = Action(.key, keys: keys.flatMap { $0.split(separator: "+").map(String.init) })
        case .scroll, .hscroll:
            let at = boxPoint("start_box") ?? (numbers.count >= 3 ? ModelPoint(x: numbers[1], y: numbers[2]) : nil)
            if let direction = named["direction"]?.lowercased() {
                // UI-TARS: five wheel clicks in the named direction.
                let table: [String: (ActionName, Int)] = ["up": (.scroll, 5), "down": (.scroll, -5), "left": (.hscroll, -5), "right": (.hscroll, 5)]
                guard let (resolved, amount) = table[direction] else { throw fail("\(function) has an unknown direction '\(direction)'") }
                action = Action(resolved, point: at, amount: amount)
            } else if let clicks = numbers.first.flatMap(ActionTable.wheelClicks(for:)) {
                action = Action(name, point: at, amount: clicks)
            } else {
                throw fail("\(function) needs a direction or a non-zero amount: \(ActionTable.scrollRule)")
            }
        case .wait: action = Action(.wait, seconds: numbers.first ?? 5)
        case .terminate: action = Action(.terminate, status: .success)
        case .callUser: action = Action(.callUser, text: named["content"] ?? positional.first ?? "the model asked for help")
        case .leftMouseDown, .leftMouseUp: action = Action(name)
        case .answer: action = Action(.answer, text: positional.first ?? "")
        }
        if let point = action.point, !(point.x.isFinite && point.y.isFinite) { throw fail("\(function) has a non-finite coordinate") }
        return source.planned(action, line)
    }

    /// Splits `a, 'b, c', key=(1,2)` into arguments, respecting quotes and brackets; quotes are removed.
    private static func splitArguments(_ text: Substring) -> [(key: String?, value: String)] {
        var parts: [String] = []
        var current = "", quote: Character?, depth = 0
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            switch character {
            case "'", "\"": quote = character
            case "(", "[": depth += 1; current.append(character)
            case ")", "]": depth -= 1; current.append(character)
            case "," where depth == 0: parts.append(current); current = ""
            default: current.append(character)
            }
        }
        if !current.trimmed.isEmpty { parts.append(current) }
        return parts.map { part in
            let trimmed = part.trimmed
            if let equals = trimmed.firstIndex(of: "="), trimmed[..<equals].allSatisfy({ $0.isLetter || $0 == "_" }) {
                return (String(trimmed[..<equals]), String(trimmed[trimmed.index(after: equals)...]).trimmed)
            }
            return (nil, trimmed)
        }
    }
}
