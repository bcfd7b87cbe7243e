@testable import AgentCore
import Foundation
import TestSupportCore
import Testing

/// `ProseSteps.verbs` finds the verbs of a prose step in one pass over the text with a mask of the
/// bytes already taken. The implementation it replaced (one search per spelling, each hit checked
/// against every verb found so far: quadratic in the hits) is kept here as the reference, and both
/// must find exactly the same verbs on random replies.
@Suite("Prose verbs: the one-pass reader finds what the search per spelling found")
struct ParserProseVerbTests {
    /// The replaced implementation, as it was.
    static func referenceVerbs(in range: Range<Int>, of bytes: [UInt8]) -> [ProseSteps.Verb] {
        let lower = bytes[range].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        var found: [ProseSteps.Verb] = []
        for (name, spellings) in ProseSteps.verbTable {
            for spelling in spellings {
                var cursor = 0
                while let hit = lower.firstRange(of: spelling, in: cursor..<lower.count) {
                    cursor = hit.upperBound
                    if spelling[0] < 0x80 {
                        let before = hit.lowerBound > 0 ? lower[hit.lowerBound - 1] : 0x20
                        let after = hit.upperBound < lower.count ? lower[hit.upperBound] : 0x20
                        if before.isASCIILetter || after.isASCIILetter { continue }
                    }
                    let absolute = (range.lowerBound + hit.lowerBound)..<(range.lowerBound + hit.upperBound)
                    if found.contains(where: { $0.range.overlaps(absolute) }) { continue }
                    found.append(ProseSteps.Verb(name: name, range: absolute))
                }
            }
        }
        if found.isEmpty, let hit = ProseSteps.doneSpellings.lazy.compactMap({ lower.firstRange(of: $0, in: 0..<lower.count) }).first {
            found.append(ProseSteps.Verb(name: .terminate, range: (range.lowerBound + hit.lowerBound)..<(range.lowerBound + hit.upperBound)))
        }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// Pieces a reply is made of: every verb spelling (in random case), pieces of them, words that
    /// contain them, coordinates, step markers, Chinese, and the words that end a task.
    static let pieces: [String] = {
        let spellings = ProseSteps.verbTable.flatMap { $0.1 }.map { String(decoding: $0, as: UTF8.self) }
        let overlapping = ["double-clicking", "clicktype", "dragdrop", "right-clickable", "presses", "typewriter", "hovered",
                           "move to the", "move tothe", "move the mouse", "double double-click", "right right click",
                           "双击击", "右键点击击", "点击击", "输入输入", "拖动拖拽", "移动到到"]
        let other = ["the", "OK button", "at", "(12, 34)", "[5, 6]", "x=3, y=4", "bbox_2d [1, 2, 3, 4]", "Step 2:", "1.", "第3步",
                     "步骤4：", "Final answer:", "最终答案：", "then", "\n", ". ", "。", "！", "\"hello\"", "Enter", "ctrl+s",
                     "task is complete", "任务完成", "Task Is Done", "已完成任务", "按钮", "的", "🙂", "-", "a", "z"]
        return spellings + spellings.map { String($0.prefix(max(1, $0.count - 1))) } + overlapping + other
    }()

    static func randomReply(_ generator: inout SeededGenerator) -> String {
        var reply = ""
        for _ in 0..<Int.random(in: 0...60, using: &generator) {
            var piece = pieces.randomElement(using: &generator)!
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: piece = piece.uppercased()
            case 1: piece = String(piece.map { Bool.random(using: &generator) ? Character($0.uppercased()) : $0 })
            default: break
            }
            reply += piece
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: break
            case 1: reply += "  "
            default: reply += " "
            }
        }
        return reply
    }

    @Test func bothFindTheSameVerbsInRandomReplies() {
        var generator = SeededGenerator()
        var compared = 0, withVerbs = 0
        for _ in 0..<20_000 {
            let bytes = Array(Self.randomReply(&generator).utf8)
            // The whole reply, and a piece of it as a step (offsets are absolute).
            let lower = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            for range in [0..<bytes.count, lower..<Int.random(in: lower...bytes.count, using: &generator)] {
                let expected = Self.referenceVerbs(in: range, of: bytes)
                let found = ProseSteps.verbs(in: range, of: bytes)
                compared += 1
                if !expected.isEmpty { withVerbs += 1 }
                let same = found.map(\.name) == expected.map(\.name) && found.map(\.range) == expected.map(\.range)
                #expect(same, "\(String(decoding: bytes[range], as: UTF8.self).debugDescription): \(found) != \(expected); \(generator)")
                if !same { return }
            }
        }
        // The replies do exercise the rules: most have verbs.
        #expect(withVerbs > compared / 2, "\(withVerbs) of \(compared) with verbs; \(generator)")
    }

    @Test func bothFindTheSameVerbsInTheFixtures() throws {
        for name in ModelOutputFixtures.names {
            let bytes = Array(try ModelOutputFixtures.text(name).utf8)
            let found = ProseSteps.verbs(in: 0..<bytes.count, of: bytes)
            let expected = Self.referenceVerbs(in: 0..<bytes.count, of: bytes)
            #expect(found.map(\.name) == expected.map(\.name) && found.map(\.range) == expected.map(\.range), "\(name)")
        }
    }
}
