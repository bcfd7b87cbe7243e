import AgentCore
import Foundation
import Imaging
import TestSupportCore
import Testing
import Units

@Suite("The parser never crashes, hangs or goes quadratic")
struct ParserRobustnessTests {
    /// Random bytes and byte-level mutations of every fixture: each parse returns a plan or a typed
    /// failure (a crash would end the test process), and never takes long. Computed on a thread of its
    /// own (it is seconds of work); times are that thread's CPU time, which other tests cannot inflate.
    @Test func randomAndMutatedInputsGiveAPlanOrATypedFailure() async throws {
        let fuzz = try await onOwnThread { try Self.randomAndMutatedInputs() }
        #expect(fuzz.problems.isEmpty, "\(fuzz.problems.prefix(5)); \(fuzz.seed)")
        // A hang, not a slow parse: speed is measured in BENCHMARKS.md.
        #expect(fuzz.slowest < .seconds(1), "slowest parse \(fuzz.slowest) of CPU time; \(fuzz.seed)")
    }

    struct Fuzz: Sendable {
        var problems: [String] = []
        var slowest = Duration.zero
        let seed: String
    }

    static func randomAndMutatedInputs() throws -> Fuzz {
        var generator = SeededGenerator()
        var fuzz = Fuzz(seed: "\(generator)")
        let fixtures = try ModelOutputFixtures.names.map { try ModelOutputFixtures.text($0) }
        let alphabet = Array("<>/{}[]()\"',:.;=+- \n\t0123456789abcxyz_think_tool_call点击输入第步🙂".unicodeScalars)
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
                let start = threadCPUTime()
                let report = PlanReport(text: text, shape: shape, mapping: ModelOutputFixtures.unitMapping)
                fuzz.slowest = max(fuzz.slowest, threadCPUTime() - start)
                // Exactly one of: a plan, or a failure with a reason; a plan is never empty.
                if (report.plan == nil) == (report.failure == nil) { fuzz.problems.append("round \(round): plan and failure") }
                if let failure = report.failure, failure.reason.isEmpty { fuzz.problems.append("round \(round): a failure without a reason") }
                if let plan = report.plan, plan.actions.isEmpty { fuzz.problems.append("round \(round): an empty plan") }
            }
        }
        return fuzz
    }

    /// Parse time per byte stays flat from 10 KB to 400 KB: no quadratic corner.
    @Test func parseTimeGrowsLinearly() async throws {
        let rates = try await onOwnThread { Self.nanosecondsPerByte() }
        for (tail, small, large) in rates {
            #expect(large < small * 8 + 0.5, "ns/byte: 10 KB \(small), 400 KB \(large) for tail \(tail.prefix(20))")
        }
    }

    /// For each kind of ending: CPU nanoseconds per byte at 10 KB and at 400 KB.
    static func nanosecondsPerByte() -> [(tail: String, small: Double, large: Double)] {
        let call = "\n</think>\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [5, 5]}}\n</tool_call>"
        let sentence = "Step 3. I look at (12, 34) and think about clicking [56, 78] or typing \"x\"; 第2步 maybe. "
        func perByte(_ size: Int, tail: String) -> Double {
            let text = String(repeating: sentence, count: size / sentence.utf8.count) + tail
            var best = Duration.seconds(100)
            for _ in 0..<3 {
                let start = threadCPUTime()
                _ = try? StepParser.parse(text)
                best = min(best, threadCPUTime() - start)
            }
            return best.seconds * 1e9 / Double(text.utf8.count)
        }
        return [call, "\n</think>\nno idea", " and it never ends"].map { tail in (tail, perByte(10_000, tail: tail), perByte(400_000, tail: tail)) }
    }

    /// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): what a parse costs, whatever else runs.
    static func threadCPUTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }
}
