// qwen-agent-parse-bench: step-parser time against output size.
//
//     QWEN_AGENT_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product qwen-agent-parse-bench
//     .build-bench/release/qwen-agent-parse-bench
//
// A Qwen3 token is about 4 characters of English reasoning, so 40,000 tokens ≈ 160 KB.
import AgentCore
import Foundation

let sentence = "Looking at the screen, the toolbar sits at the top; the Log out button is probably near (912, 40), "
    + "but the avatar at [950, 38] could open a menu first, so step 2. might be to click it. "
let call = "\n</think>\n\nAction: click Log out.\n<tool_call>\n{\"name\": \"computer_use\", \"arguments\": {\"action\": \"left_click\", \"coordinate\": [912, 40]}}\n</tool_call><|im_end|>"
let steps = "\n</think>\n\nStep 1: click the avatar at (950, 38).\nStep 2: click the Log out button at (912, 140)."

func reasoning(bytes: Int) -> String { String(repeating: sentence, count: max(1, bytes / sentence.utf8.count)) }

func measure(_ text: String, iterations: Int) -> (median: Double, p90: Double) {
    var times: [Double] = []
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        _ = try? StepParser.parse(text)
        let elapsed = ContinuousClock.now - start
        times.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
    }
    times.sort()
    return (times[times.count / 2], times[times.count * 9 / 10])
}

print("case                                  bytes      median ms    p90 ms    MB/s")
let cases: [(String, String, Int)] = [
    ("1 KB reasoning + tool call", reasoning(bytes: 1_000) + call, 2_000),
    ("100 KB reasoning + tool call", reasoning(bytes: 100_000) + call, 300),
    ("40k tokens (160 KB) + tool call", reasoning(bytes: 160_000) + call, 200),
    ("1 MB reasoning + tool call", reasoning(bytes: 1_000_000) + call, 40),
    ("160 KB reasoning + prose steps", reasoning(bytes: 160_000) + steps, 200),
    ("160 KB, no </think> (failure)", reasoning(bytes: 160_000), 200),
    ("160 KB, nothing actionable (failure)", reasoning(bytes: 160_000) + "\n</think>\nI am not sure.", 50),
]
for (name, text, iterations) in cases {
    let (median, p90) = measure(text, iterations: iterations)
    let bytes = text.utf8.count
    print(name.padding(toLength: 36, withPad: " ", startingAt: 0), String(format: "%9d  %10.3f  %9.3f  %7.0f", bytes, median, p90, Double(bytes) / median / 1e3))
}
