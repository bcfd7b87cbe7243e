import Foundation

import Desktop

/// Actions written in prose: numbered steps in English or Chinese (`1. …`, `Step 2: …`, `第3步`,
/// `步骤4：`), a final answer (`最终答案：…`, `Final answer: …`), or, in an answer without steps, plain
/// sentences. A step becomes actions when it names a verb (click, double-click, type, press,
/// scroll, drag, move, wait, done — or 点击, 双击, 输入, 按下, 滚动, 拖动, 移动到, 等待, 完成) and, where
/// the verb needs one, a coordinate: `(x, y)`, `[x, y]`, `x=…, y=…`, `bbox_2d [x1, y1, x2, y2]`
/// (its centre) or `point_2d [x, y]`.
enum ProseSteps {
    static func actions(in source: Source) throws(ParseFailure) -> [PlannedAction]? {
        for section in [source.answer, source.reasoning] {
            let isAnswer = section == source.answer
            let actions = segments(of: section, in: source.bytes, sentencesWhenUnmarked: isAnswer).flatMap { segment in
                Self.actions(in: segment, of: source)
            }
            if !actions.isEmpty { return actions }
        }
        return nil
    }

    /// The numbered steps of the answer, or else of the reasoning, as text.
    static func explanation(in source: Source) -> [String] {
        for section in [source.answer, source.reasoning] {
            let steps = segments(of: section, in: source.bytes, sentencesWhenUnmarked: false).filter(\.isStep)
            if !steps.isEmpty { return steps.map { source.string($0.range).trimmed } }
        }
        return []
    }

    /// A step that names a pointing action but gives no coordinate, for the failure message.
    static func stepWithoutCoordinate(in source: Source) -> String? {
        for section in [source.answer, source.reasoning] {
            for segment in segments(of: section, in: source.bytes, sentencesWhenUnmarked: section == source.answer) {
                let text = source.string(segment.range)
                if verbs(in: text).contains(where: { $0.name.needsPoint }) { return text.trimmed }
            }
        }
        return nil
    }

    // MARK: Segments

    struct Segment {
        let range: Range<Int>
        /// Starts at a step number or a final-answer marker (not an unmarked sentence).
        let isStep: Bool
    }

    private static let finalAnswerMarkers = ["最终答案", "Final answer", "Final Answer", "FINAL ANSWER"].map { Array($0.utf8) }
    private static let stepWords = [Array("Step".utf8), Array("step".utf8), Array("STEP".utf8)]
    private static let di = Array("第".utf8), bu = Array("步".utf8), buzhou = Array("步骤".utf8), dunhao = Array("、".utf8)

    /// Splits a section at step markers; without markers, into sentences (answers only).
    static func segments(of section: Range<Int>, in bytes: [UInt8], sentencesWhenUnmarked: Bool) -> [Segment] {
        var starts: [Int] = []
        var i = section.lowerBound
        while i < section.upperBound {
            if let length = markerLength(at: i, in: bytes, section: section) {
                starts.append(i)
                i += length
            } else {
                i += 1
            }
        }
        if starts.isEmpty {
            guard sentencesWhenUnmarked else { return [] }
            return sentences(of: section, in: bytes)
        }
        var segments: [Segment] = []
        if starts[0] > section.lowerBound, !bytes[section.lowerBound..<starts[0]].allSatisfy(\.isSpace) {
            segments.append(Segment(range: section.lowerBound..<starts[0], isStep: false))
        }
        for (index, start) in starts.enumerated() {
            segments.append(Segment(range: start..<(index + 1 < starts.count ? starts[index + 1] : section.upperBound), isStep: true))
        }
        return segments
    }

    /// The length of a step marker starting at `i`, or nil.
    private static func markerLength(at i: Int, in bytes: [UInt8], section: Range<Int>) -> Int? {
        let atBoundary = i == section.lowerBound || bytes[i - 1].isSpace || bytes[i - 1] >= 0x80
            || bytes[i - 1] == UInt8(ascii: ":") || bytes[i - 1] == UInt8(ascii: "*")
        let byte = bytes[i]
        if byte.isDigit, atBoundary, i == section.lowerBound || !bytes[i - 1].isDigit {
            var j = i
            while j < section.upperBound, bytes[j].isDigit, j - i < 3 { j += 1 }
            guard j < section.upperBound, j - i <= 2, !bytes[j].isDigit else { return nil }
            let lineStart = i == section.lowerBound || bytes[i - 1] == 0x0A
            if bytes[j] == UInt8(ascii: "."), j + 1 >= section.upperBound || bytes[j + 1].isSpace || bytes[j + 1] >= 0x80 { return j + 1 - i }
            if bytes[j] == UInt8(ascii: ")") && lineStart { return j + 1 - i }
            if bytes.hasPrefix(dunhao, at: j, limit: section.upperBound) { return j + dunhao.count - i }
            return nil
        }
        if atBoundary, stepWords.contains(where: { bytes.hasPrefix($0, at: i, limit: section.upperBound) }) {
            var j = i + 4
            while j < section.upperBound, bytes[j] == UInt8(ascii: " ") { j += 1 }
            let digits = j
            while j < section.upperBound, bytes[j].isDigit { j += 1 }
            return j > digits ? j - i : nil
        }
        if bytes.hasPrefix(di, at: i, limit: section.upperBound) {
            var j = i + di.count
            let digits = j
            while j < section.upperBound, bytes[j].isDigit { j += 1 }
            return j > digits && bytes.hasPrefix(bu, at: j, limit: section.upperBound) ? j + bu.count - i : nil
        }
        if bytes.hasPrefix(buzhou, at: i, limit: section.upperBound) {
            var j = i + buzhou.count
            while j < section.upperBound, bytes[j] == UInt8(ascii: " ") { j += 1 }
            let digits = j
            while j < section.upperBound, bytes[j].isDigit { j += 1 }
            return j > digits ? j - i : nil
        }
        if atBoundary, let marker = finalAnswerMarkers.first(where: { bytes.hasPrefix($0, at: i, limit: section.upperBound) }) {
            return marker.count
        }
        return nil
    }

    /// Sentences end at . ! ? 。！？ or a newline; a '.' inside a number (1.5) does not end one.
    private static func sentences(of section: Range<Int>, in bytes: [UInt8]) -> [Segment] {
        var segments: [Segment] = []
        var start = section.lowerBound, i = section.lowerBound
        let cjkEnds = ["。", "！", "？"].map { Array($0.utf8) }
        while i < section.upperBound {
            var end: Int?
            let byte = bytes[i]
            if byte == 0x0A || byte == UInt8(ascii: "!") || byte == UInt8(ascii: "?") {
                end = i + 1
            } else if byte == UInt8(ascii: "."), i + 1 >= section.upperBound || !bytes[i + 1].isDigit {
                end = i + 1
            } else if let mark = cjkEnds.first(where: { bytes.hasPrefix($0, at: i, limit: section.upperBound) }) {
                end = i + mark.count
            }
            if let end {
                if !bytes[start..<end].allSatisfy(\.isSpace) { segments.append(Segment(range: start..<end, isStep: false)) }
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < section.upperBound, !bytes[start..<section.upperBound].allSatisfy(\.isSpace) {
            segments.append(Segment(range: start..<section.upperBound, isStep: false))
        }
        return segments
    }

    // MARK: Verbs and their arguments

    struct Verb {
        let name: ActionName
        let range: Range<String.Index>
        let direction: Int
    }

    /// (action, spellings): English spellings must stand as words; longer, more specific ones first.
    private static let verbTable: [(ActionName, [String])] = [
        (.doubleClick, ["double-click", "double click", "doubleclick", "双击"]),
        (.tripleClick, ["triple-click", "triple click", "三击"]),
        (.rightClick, ["right-click", "right click", "右键点击", "右键单击", "右击", "右键"]),
        (.middleClick, ["middle-click", "middle click", "中键"]),
        (.leftClickDrag, ["drag", "拖动", "拖拽"]),
        (.scroll, ["scroll", "滚动", "向下滑动", "向上滑动"]),
        (.type, ["type", "enter the text", "input", "write", "输入"]),
        (.key, ["press", "hit", "按下", "按键"]),
        (.leftClick, ["click", "tap", "select", "点击", "单击", "轻点"]),
        (.mouseMove, ["move the mouse", "move the cursor", "move to", "hover", "移动到", "移动鼠标", "悬停"]),
        (.wait, ["wait", "等待"]),
    ]
    private static let doneSpellings = ["task is complete", "task is done", "task is finished", "task completed", "任务完成", "已完成任务"]

    /// The verbs in a step, in order, none inside another.
    static func verbs(in text: String) -> [Verb] {
        let lower = text.lowercased()
        var found: [Verb] = []
        for (name, spellings) in verbTable {
            for spelling in spellings {
                var searchStart = lower.startIndex
                while let range = lower.range(of: spelling, range: searchStart..<lower.endIndex) {
                    searchStart = range.upperBound
                    let ascii = spelling.unicodeScalars.first!.isASCII
                    if ascii {
                        let before = range.lowerBound == lower.startIndex ? nil : lower[lower.index(before: range.lowerBound)]
                        let after = range.upperBound == lower.endIndex ? nil : lower[range.upperBound]
                        if before?.isLetter == true || (after?.isLetter == true && !spelling.hasSuffix(" ")) { continue }
                        if spelling == "drag" && after == "g" { continue }
                    }
                    if found.contains(where: { $0.range.overlaps(range) }) { continue }
                    found.append(Verb(name: name, range: range, direction: 0))
                }
            }
        }
        if found.isEmpty, let range = doneSpellings.lazy.compactMap({ lower.range(of: $0) }).first {
            found.append(Verb(name: .terminate, range: range, direction: 0))
        }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    private static func actions(in segment: Segment, of source: Source) -> [PlannedAction] {
        let text = source.string(segment.range)
        let lower = text.lowercased()
        guard lower.count == text.count else { return [] } // case mapping changed lengths: indices would not line up
        let verbs = verbs(in: text)
        var actions: [PlannedAction] = []
        for (index, verb) in verbs.enumerated() {
            let regionEnd = index + 1 < verbs.count ? verbs[index + 1].range.lowerBound : text.endIndex
            let region = verb.range.upperBound..<regionEnd
            let regionText = text[region]
            let point = Coordinates.first(in: regionText) ?? Coordinates.first(in: text[...])
            var action: Action?
            switch verb.name {
            case .leftClick, .doubleClick, .tripleClick, .rightClick, .middleClick, .mouseMove:
                if let point { action = Action(verb.name, point: point) }
            case .leftClickDrag:
                let points = Coordinates.all(in: regionText)
                if points.count >= 2 { action = Action(.leftClickDrag, point: points[1], startPoint: points[0]) }
                else if let point = points.first { action = Action(.leftClickDrag, point: point) }
            case .type:
                if let quoted = Quotes.first(in: regionText) { action = Action(.type, text: quoted) }
            case .key:
                // "press the OK button at (x, y)" is a click, "press Enter" a key.
                if let point, Coordinates.first(in: regionText) != nil {
                    action = Action(.leftClick, point: point)
                } else if let keys = keyChord(in: regionText) {
                    action = Action(.key, keys: keys)
                }
            case .scroll:
                let region = lower[region]
                let amount = region.contains("up") || region.contains("上") ? 5 : region.contains("down") || region.contains("下") ? -5 : nil
                let horizontal = region.contains("left") || region.contains("左") ? -5 : region.contains("right") || region.contains("右") ? 5 : nil
                if let amount { action = Action(.scroll, point: Coordinates.first(in: regionText), amount: amount) }
                else if let horizontal { action = Action(.hscroll, point: Coordinates.first(in: regionText), amount: horizontal) }
            case .wait:
                action = Action(.wait, seconds: Coordinates.seconds(in: regionText) ?? 2)
            case .terminate:
                action = Action(.terminate, status: .success)
            default: break
            }
            if let action { actions.append(source.planned(action, segment.range, label: text.trimmed)) }
        }
        return actions
    }

    /// The first key or chord after a key verb: `Enter`, `ctrl+s`, `Ctrl + Shift + T`.
    private static func keyChord(in text: Substring) -> [String]? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\"" || $0 == "'" || $0 == "`" || $0 == "“" || $0 == "”" })
        var index = 0
        while index < words.count, ["the", "key", "keys", "down", "键"].contains(words[index].lowercased()) { index += 1 }
        guard index < words.count else { return nil }
        var chord = String(words[index]).trimmingTrailingPunctuation
        // "Ctrl + S" written with spaces.
        while index + 2 < words.count, words[index + 1] == "+" {
            chord += "+" + String(words[index + 2]).trimmingTrailingPunctuation
            index += 2
        }
        let keys = chord.split(separator: "+").map(String.init)
        guard !keys.isEmpty, keys.allSatisfy({ KeyNames.keysym(for: $0) != nil && ($0.count > 1 || keys.count > 1) }) else { return nil }
        return keys
    }
}

/// Coordinates written in prose.
enum Coordinates {
    /// The first point in `text`: `bbox_2d` (centre), `point_2d`, `<point>x y</point>`, `(x, y)`,
    /// `[x, y]`, a bracketed box (centre), or `x=…, y=…`.
    static func first(in text: Substring) -> ModelPoint? { scan(text, limit: 1).first }

    static func all(in text: Substring) -> [ModelPoint] { scan(text, limit: 8) }

    private static func scan(_ text: Substring, limit: Int) -> [ModelPoint] {
        let scalars = Array(text.unicodeScalars)
        var points: [ModelPoint] = []
        var i = 0
        while i < scalars.count, points.count < limit {
            let c = scalars[i]
            if "([（【".unicodeScalars.contains(c) || c == "<" {
                if let (numbers, end) = bracketed(scalars, from: i), numbers.count == 2 || numbers.count == 4 {
                    points.append(numbers.count == 2 ? ModelPoint(x: numbers[0], y: numbers[1])
                                                     : ModelPoint(x: (numbers[0] + numbers[2]) / 2, y: (numbers[1] + numbers[3]) / 2))
                    i = end
                    continue
                }
            }
            if c == "x" || c == "X", i + 1 < scalars.count, "=:：".unicodeScalars.contains(scalars[i + 1]),
               i == 0 || !scalars[i - 1].properties.isAlphabetic,
               let (x, afterX) = number(scalars, from: i + 2),
               let yIndex = (afterX..<min(afterX + 6, scalars.count)).first(where: { scalars[$0] == "y" || scalars[$0] == "Y" }),
               yIndex + 1 < scalars.count, "=:：".unicodeScalars.contains(scalars[yIndex + 1]),
               let (y, afterY) = number(scalars, from: yIndex + 2)
            {
                points.append(ModelPoint(x: x, y: y))
                i = afterY
                continue
            }
            i += 1
        }
        return points
    }

    /// Two or four numbers between an opening bracket and its close, separated by commas or spaces.
    private static func bracketed(_ s: [Unicode.Scalar], from start: Int) -> ([Double], Int)? {
        var i = start + 1
        if s[start] == "<" {
            let tag = "point>".unicodeScalars.map { $0 }
            guard i + tag.count <= s.count, Array(s[i..<i + tag.count]) == tag else { return nil }
            i += tag.count
        }
        var numbers: [Double] = []
        while i < s.count, numbers.count <= 4 {
            while i < s.count, s[i] == " " || s[i] == "," || s[i] == "，" { i += 1 }
            guard i < s.count else { return nil }
            if ")]）】<".unicodeScalars.contains(s[i]) { return (numbers, i + 1) }
            guard let (value, next) = number(s, from: i) else { return nil }
            numbers.append(value)
            i = next
        }
        return nil
    }

    /// A number starting at `start` (after optional spaces): sign, digits, one decimal point.
    static func number(_ s: [Unicode.Scalar], from start: Int) -> (Double, Int)? {
        var i = start
        while i < s.count, s[i] == " " { i += 1 }
        let begin = i
        if i < s.count, s[i] == "-" || s[i] == "+" { i += 1 }
        var digits = 0
        while i < s.count, (s[i].value >= 48 && s[i].value <= 57) || (s[i] == "." && i + 1 < s.count && s[i + 1].value >= 48 && s[i + 1].value <= 57) {
            if s[i] != "." { digits += 1 }
            i += 1
            guard digits < 40 else { return nil }
        }
        guard digits > 0, let value = Double(String(String.UnicodeScalarView(s[begin..<i]))), value.isFinite else { return nil }
        return (value, i)
    }

    /// "3 seconds", "2s", "5 秒".
    static func seconds(in text: Substring) -> Double? {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if let (value, end) = number(scalars, from: i), end > i {
                let rest = String(String.UnicodeScalarView(scalars[end..<min(end + 8, scalars.count)])).trimmed.lowercased()
                if rest.hasPrefix("s") || rest.hasPrefix("秒") { return value }
                i = end
            } else {
                i += 1
            }
        }
        return nil
    }
}

/// Quoted text in prose: "…", '…', “…”, ‘…’, 「…」, 『…』, `…`.
enum Quotes {
    private static let pairs: [(Character, Character)] = [("\"", "\""), ("“", "”"), ("「", "」"), ("『", "』"), ("‘", "’"), ("'", "'"), ("`", "`")]

    static func first(in text: Substring) -> String? {
        var best: (start: String.Index, value: String)?
        for (open, close) in pairs {
            guard let start = text.firstIndex(of: open) else { continue }
            let after = text.index(after: start)
            guard let end = text[after...].firstIndex(of: close), end > after else { continue }
            if best == nil || start < best!.start { best = (start, String(text[after..<end])) }
        }
        return best?.value
    }
}

extension ActionName {
    var needsPoint: Bool {
        ActionTable.spec(for: self).parameters.contains { $0.kind == .point && $0.isRequired }
    }
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
}

extension [UInt8] {
    func hasPrefix(_ prefix: [UInt8], at index: Int, limit: Int) -> Bool {
        guard index + prefix.count <= limit else { return false }
        for k in 0..<prefix.count where self[index + k] != prefix[k] { return false }
        return true
    }
}

extension String {
    var trimmingTrailingPunctuation: String {
        var s = self
        while let last = s.last, ".,;:!?。，；：！？)".contains(last) { s.removeLast() }
        return s
    }
}
