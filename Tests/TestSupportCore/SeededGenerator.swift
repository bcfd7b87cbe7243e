import Foundation

/// A repeatable random generator for tests (SplitMix64). The seed comes from `QWEN_AGENT_TEST_SEED`
/// when set, else from the system; tests put `generator` (which prints as "seed N") into their
/// failure messages, so a failing run can be repeated exactly.
public struct SeededGenerator: RandomNumberGenerator, CustomStringConvertible {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64? = nil) {
        self.seed = seed ?? ProcessInfo.processInfo.environment["QWEN_AGENT_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        state = self.seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public var description: String { "seed \(seed) (QWEN_AGENT_TEST_SEED=\(seed) repeats it)" }
}
