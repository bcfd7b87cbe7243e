import Agent
import Foundation
import Imaging
import TestSupport
import Testing
import Units

@Suite("The parser never crashes, hangs or goes quadratic")
struct ParserRobustnessTests {
    /// Random bytes and byte-level mutations of every fixture: each parse returns a plan or a typed
    /// failure (a crash would end the test process), and never takes long.
    @Test func randomAndMutatedInputsGiveAPlanOrATypedFailure() async throws {
        try await onOwnThread { try Self.randomAndMutatedInputs() }
    }

    static func randomAndMutatedInputs() throws {
        var generator = SeededGenerator()
        let fixtures = try ModelOutputFixtures.names.map { try ModelOutputFixtures.text($0) }
        let alphabet = Array("<>/{}[]()\"',:.;=+- \n\t0123456789abcxyz_think_tool_call点击输入第步🙂".unicodeScalars)
        var slowest = Duration.zero
        for round in 0..<1500 {
            var text: String
            if round % 3 == 0 {
                text = String(String.UnicodeScalarView((0..<Int.random(in: 0...400, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                }))
            } else {
                var bytes = Array(fixtures.randomElement(using: &generator)!.utf8)
                for _ in 0..<Int.random(in: 1...8, using: &generator) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0: bytes[at] = UInt8.random(in: 0...255, using: &generator)
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(contentsOf: Array("</think><tool_call>{[(".utf8).prefix(Int.random(in: 1...8, using: &generator)), at: at)
                    }
                }
                text = String(decoding: bytes, as: UTF8.self)
            }
            for shape in OutputShape.allCases {
                let start = ContinuousClock.now
                let report = PlanReport(text: text, shape: shape, mapping: ModelOutputFixtures.unitMapping)
                slowest = max(slowest, ContinuousClock.now - start)
                // Exactly one of: a plan, or a failure with a reason.
                #expect((report.plan == nil) != (report.failure == nil), "\(generator)")
                if let failure = report.failure { #expect(!failure.reason.isEmpty, "\(generator)") }
                if let plan = report.plan { #expect(!plan.actions.isEmpty, "a plan is never empty; \(generator)") }
            }
        }
        // A hang, not a slow parse: speed is measured in BENCHMARKS.md, and this machine may be busy.
        #expect(slowest < .seconds(2), "slowest parse \(slowest); \(generator)")
    }

    /// Parse time per byte stays flat from 10 KB to 400 KB: no quadratic corner.
    @Test func parseTimeGrowsLinearly() async throws {
        try await onOwnThread { Self.parseTimeIsLinear() }
    }

    static func parseTimeIsLinear() {
        let call = "\n</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [5, 5]}}\n</tool_call>"
        let sentence = "Step 3. I look at (12, 34) and think about clicking [56, 78] or typing \"x\"; 第2步 maybe. "
        func perByte(_ size: Int, tail: String) -> Double {
            let text = String(repeating: sentence, count: size / sentence.utf8.count) + tail
            var best = Duration.seconds(100)
            for _ in 0..<3 {
                let start = ContinuousClock.now
                _ = try? StepParser.parse(text)
                best = min(best, ContinuousClock.now - start)
            }
            return best.seconds * 1e9 / Double(text.utf8.count)
        }
        for tail in [call, "\n</think>\nno idea", " and it never ends"] {
            let small = perByte(10_000, tail: tail), large = perByte(400_000, tail: tail)
            #expect(large < small * 8 + 0.5, "ns/byte: 10 KB \(small), 400 KB \(large) for tail \(tail.prefix(20))")
        }
    }
}
