import Foundation

import Keys

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
            if !steps.isEmpty { return steps.map { source.text($0.range) } }
        }
        return []
    }

    /// A step that names a pointing action but gives no coordinate, for the failure message.
    static func stepWithoutCoordinate(in source: Source) -> String? {
        for section in [source.answer, source.reasoning] {
            for segment in segments(of: section, in: source.bytes, sentencesWhenUnmarked: section == source.answer) {
                if verbs(in: segment.range, of: source.bytes).contains(where: { $0.name.needsPoint }) { return source.text(segment.range) }
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
    /// The bytes a step marker can start with: most bytes start none, and are passed over at once.
    private static let markerStarts = ByteSet(Array("0123456789".utf8) + (stepWords + [di, buzhou] + finalAnswerMarkers).map { $0[0] })

    /// Splits a section at step markers; without markers, into sentences (answers only).
    static func segments(of section: Range<Int>, in bytes: [UInt8], sentencesWhenUnmarked: Bool) -> [Segment] {
        var starts: [Int] = []
        var i = section.lowerBound
        while i < section.upperBound {
            if markerStarts.contains(bytes[i]), let length = markerLength(at: i, in: bytes, section: section) {
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

    private static let cjkSentenceEnds = ["。", "！", "？"].map { Array($0.utf8) }

    /// Sentences end at . ! ? 。！？ or a newline; a '.' inside a number (1.5) does not end one.
    private static func sentences(of section: Range<Int>, in bytes: [UInt8]) -> [Segment] {
        var segments: [Segment] = []
        var start = section.lowerBound, i = section.lowerBound
        while i < section.upperBound {
            var end: Int?
            let byte = bytes[i]
            if byte == 0x0A || byte == UInt8(ascii: "!") || byte == UInt8(ascii: "?") {
                end = i + 1
            } else if byte == UInt8(ascii: "."), i + 1 >= section.upperBound || !bytes[i + 1].isDigit {
                end = i + 1
            } else if byte >= 0x80, let mark = cjkSentenceEnds.first(where: { bytes.hasPrefix($0, at: i, limit: section.upperBound) }) {
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
        /// UTF-8 offsets in the whole output.
        let range: Range<Int>
    }

    /// (action, spellings): English spellings must stand as words; longer, more specific ones first.
    private static let verbSpellings: [(ActionName, [String])] = [
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
    static let verbTable: [(ActionName, [[UInt8]])] = verbSpellings.map { entry in
        (entry.0, entry.1.map { Array($0.utf8) })
    }
    static let doneSpellings = ["task is complete", "task is done", "task is finished", "task completed", "任务完成", "已完成任务"]
        .map { Array($0.utf8) }
    /// Every spelling in priority order (verb table order, then each verb's spellings in order).
    private static let spellings: [(name: ActionName, bytes: [UInt8])] = verbTable.flatMap { name, spellings in
        spellings.map { (name, $0) }
    }
    /// For each first byte, the spellings (indices into `spellings`) that start with it.
    private static let spellingsByFirstByte: [[Int]] = spellings.indices.reduce(into: Array(repeating: [], count: 256)) { table, index in
        table[Int(spellings[index].bytes[0])].append(index)
    }

    /// The verbs in `range`, in order, none inside another. A spelling earlier in `verbTable` wins
    /// where two overlap; each spelling's hits are the ones a search from the end of its previous
    /// hit finds, leftmost first.
    static func verbs(in range: Range<Int>, of bytes: [UInt8]) -> [Verb] {
        // ASCII-lowercased copy: English verbs match in any case, other scripts are untouched.
        let lower = bytes[range].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        // One pass finds every spelling's hits, by the byte they start with.
        var hits: [(spelling: Int, start: Int)] = []
        var searchFrom = Array(repeating: 0, count: spellings.count)
        for start in lower.indices {
            for spelling in spellingsByFirstByte[Int(lower[start])] where start >= searchFrom[spelling] {
                let spelled = spellings[spelling].bytes
                guard lower.hasPrefix(spelled, at: start, limit: lower.count) else { continue }
                hits.append((spelling, start))
                searchFrom[spelling] = start + spelled.count
            }
        }
        hits.sort { ($0.spelling, $0.start) < ($1.spelling, $1.start) }
        // In priority order, a hit standing as a word and on bytes no earlier verb took is a verb.
        var taken = Array(repeating: false, count: lower.count)
        var found: [Verb] = []
        for (spelling, start) in hits {
            let (name, spelled) = spellings[spelling]
            let end = start + spelled.count
            if spelled[0] < 0x80 {
                let before = start > 0 ? lower[start - 1] : 0x20
                let after = end < lower.count ? lower[end] : 0x20
                if before.isASCIILetter || after.isASCIILetter { continue }
            }
            if taken[start..<end].contains(true) { continue }
            for index in start..<end { taken[index] = true }
            found.append(Verb(name: name, range: (range.lowerBound + start)..<(range.lowerBound + end)))
        }
        if found.isEmpty, let hit = doneSpellings.lazy.compactMap({ lower.firstRange(of: $0, in: 0..<lower.count) }).first {
            found.append(Verb(name: .terminate, range: (range.lowerBound + hit.lowerBound)..<(range.lowerBound + hit.upperBound)))
        }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    private static func actions(in segment: Segment, of source: Source) -> [PlannedAction] {
        let bytes = source.bytes
        let verbs = verbs(in: segment.range, of: bytes)
        guard !verbs.isEmpty else { return [] }
        // Once per step, not once per verb (a step full of verbs made both quadratic): its text, and
        // the first point anywhere in it, for a verb with no point of its own.
        let stepText = source.text(segment.range)
        lazy var stepPoint = Coordinates.first(in: segment.range, of: bytes)
        var actions: [PlannedAction] = []
        for (index, verb) in verbs.enumerated() {
            let region = verb.range.upperBound..<(index + 1 < verbs.count ? verbs[index + 1].range.lowerBound : segment.range.upperBound)
            // Words after the verb, for quotes, key names, directions and durations (a short prefix is enough).
            let words = source.string(region.lowerBound..<min(region.upperBound, region.lowerBound + 240))
            let pointHere = Coordinates.first(in: region, of: bytes)
            var action: Action?
            switch verb.name {
            case .leftClick, .doubleClick, .tripleClick, .rightClick, .middleClick, .mouseMove:
                if let point = pointHere ?? stepPoint { action = Action(verb.name, point: point) }
            case .leftClickDrag:
                let points = Coordinates.all(in: region, of: bytes)
                if points.count >= 2 { action = Action(.leftClickDrag, point: points[1], startPoint: points[0]) }
                else if let point = points.first { action = Action(.leftClickDrag, point: point) }
            case .type:
                if let quoted = Quotes.first(in: words[...]) { action = Action(.type, text: quoted) }
            case .key:
                // "press the OK button at (x, y)" is a click, "press Enter" a key.
                if let pointHere {
                    action = Action(.leftClick, point: pointHere)
                } else if let keys = keyChord(in: words[...]) {
                    action = Action(.key, keys: keys)
                }
            case .scroll:
                let lower = words.lowercased()
                let vertical = lower.contains("up") || lower.contains("上") ? 5 : lower.contains("down") || lower.contains("下") ? -5 : nil
                let horizontal = lower.contains("left") || lower.contains("左") ? -5 : lower.contains("right") || lower.contains("右") ? 5 : nil
                if let vertical { action = Action(.scroll, point: pointHere, amount: vertical) }
                else if let horizontal { action = Action(.hscroll, point: pointHere, amount: horizontal) }
            case .wait:
                action = Action(.wait, seconds: Coordinates.seconds(in: words[...]) ?? 2)
            case .terminate:
                action = Action(.terminate, status: .success)
            default: break
            }
            if let action { actions.append(PlannedAction(action: action, span: segment.range, sourceText: stepText, label: stepText)) }
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
        guard let keys = (try? KeyChord(parsing: chord))?.keys, keys.allSatisfy({ KeyNames.keysym(for: $0) != nil && ($0.count > 1 || keys.count > 1) }) else { return nil }
        return keys
    }
}

/// Coordinates written in prose, found in UTF-8 bytes.
enum Coordinates {
    private static let openers: [[UInt8]] = ["(", "[", "（", "【", "<point>"].map { Array($0.utf8) }
    private static let closers: [[UInt8]] = [")", "]", "）", "】", "</point>"].map { Array($0.utf8) }
    private static let separators: [[UInt8]] = [" ", ",", "，"].map { Array($0.utf8) }
    private static let assigners: [[UInt8]] = ["=", ":", "：", " = ", " : "].map { Array($0.utf8) }
    private static let openerStarts = ByteSet(openers.map { $0[0] })

    /// The first point in `range`: `(x, y)`, `[x, y]`, `<point>x y</point>`, a bracketed box (its
    /// centre, which also covers `bbox_2d [x1, y1, x2, y2]`), or `x=…, y=…`.
    static func first(in range: Range<Int>, of bytes: [UInt8]) -> ModelPoint? { scan(range, bytes, limit: 1).first }

    static func all(in range: Range<Int>, of bytes: [UInt8]) -> [ModelPoint] { scan(range, bytes, limit: 8) }

    private static func scan(_ range: Range<Int>, _ bytes: [UInt8], limit: Int) -> [ModelPoint] {
        var points: [ModelPoint] = []
        var i = range.lowerBound
        while i < range.upperBound, points.count < limit {
            if openerStarts.contains(bytes[i]), let opener = openers.first(where: { bytes.hasPrefix($0, at: i, limit: range.upperBound) }),
               let (numbers, end) = bracketed(bytes, from: i + opener.count, limit: range.upperBound),
               numbers.count == 2 || numbers.count == 4
            {
                points.append(numbers.count == 2 ? ModelPoint(x: numbers[0], y: numbers[1])
                                                 : ModelPoint(x: (numbers[0] + numbers[2]) / 2, y: (numbers[1] + numbers[3]) / 2))
                i = end
                continue
            }
            if bytes[i] | 0x20 == UInt8(ascii: "x"), i == range.lowerBound || !bytes[i - 1].isASCIILetter,
               let (x, afterX) = assigned(bytes, from: i + 1, limit: range.upperBound),
               let yAt = (afterX..<min(afterX + 6, range.upperBound)).first(where: { bytes[$0] | 0x20 == UInt8(ascii: "y") }),
               let (y, afterY) = assigned(bytes, from: yAt + 1, limit: range.upperBound)
            {
                points.append(ModelPoint(x: x, y: y))
                i = afterY
                continue
            }
            i += 1
        }
        return points
    }

    /// `= 12.5` / `: 12.5` after an axis letter.
    private static func assigned(_ bytes: [UInt8], from start: Int, limit: Int) -> (Double, Int)? {
        guard let assigner = assigners.first(where: { bytes.hasPrefix($0, at: start, limit: limit) }) else { return nil }
        return number(bytes, from: start + assigner.count, limit: limit)
    }

    /// Up to four numbers separated by spaces or commas, then a closing bracket.
    private static func bracketed(_ bytes: [UInt8], from start: Int, limit: Int) -> ([Double], Int)? {
        var numbers: [Double] = []
        var i = start
        while i < limit, numbers.count <= 4 {
            while let separator = separators.first(where: { bytes.hasPrefix($0, at: i, limit: limit) }) { i += separator.count }
            guard i < limit else { return nil }
            if let closer = closers.first(where: { bytes.hasPrefix($0, at: i, limit: limit) }) { return (numbers, i + closer.count) }
            guard let (value, next) = number(bytes, from: i, limit: limit) else { return nil }
            numbers.append(value)
            i = next
        }
        return nil
    }

    /// A number at `start` (after spaces): sign, at most 20 digits, one decimal point.
    static func number(_ bytes: [UInt8], from start: Int, limit: Int) -> (Double, Int)? {
        var i = start
        while i < limit, bytes[i] == 0x20 { i += 1 }
        let begin = i
        if i < limit, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
        var digits = 0, dot = false
        while i < limit {
            if bytes[i].isDigit {
                digits += 1
            } else if bytes[i] == UInt8(ascii: "."), !dot, i + 1 < limit, bytes[i + 1].isDigit {
                dot = true
            } else {
                break
            }
            i += 1
            guard digits <= 20 else { return nil }
        }
        guard digits > 0, let value = Double(String(decoding: bytes[begin..<i], as: UTF8.self)), value.isFinite else { return nil }
        return (value, i)
    }

    /// "3 seconds", "2s", "5 秒".
    static func seconds(in text: Substring) -> Double? {
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i].isDigit, let (value, end) = number(bytes, from: i, limit: bytes.count) {
                var j = end
                while j < bytes.count, bytes[j] == 0x20 { j += 1 }
                if j < bytes.count, bytes[j] | 0x20 == UInt8(ascii: "s") || bytes.hasPrefix(Array("秒".utf8), at: j, limit: bytes.count) {
                    return value
                }
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
        ActionTable.spec(for: self).arguments.contains { $0.parameter.kind == .point && $0.isRequired }
    }
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    var isASCIILetter: Bool { (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z") }
}

/// A set of byte values, looked up in one step.
struct ByteSet {
    private var members = [Bool](repeating: false, count: 256)

    init(_ bytes: [UInt8]) {
        for byte in bytes { members[Int(byte)] = true }
    }

    func contains(_ byte: UInt8) -> Bool { members[Int(byte)] }
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
