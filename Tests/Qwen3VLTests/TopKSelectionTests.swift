import Testing

@testable import Qwen3VL
import Qwen3VLPrompt

/// Top-k selection in one pass equals sorting the whole vocabulary and keeping the first k.
@Suite("Top-k selection")
struct TopKSelectionTests {
    @Test(arguments: [(1, 1), (50, 7), (1000, 20), (1000, 999), (1000, 1000), (5000, 64)])
    func equalsAFullSortWithTiesInIndexOrder(count: Int, k: Int) {
        var random = Qwen3VL.SplitMix64(seed: UInt64(count * 31 + k))
        // Few distinct values, so ties are common.
        let logits: [Float] = (0..<count).map { _ in Float(Int(random.next() % 40)) / 4 - 5 }
        let scaled: [(index: Int, logit: Float)] = logits.indices.map { (index: $0, logit: logits[$0] / 0.7) }
        let sorted = scaled.sorted { a, b in a.logit > b.logit || (a.logit == b.logit && a.index < b.index) }
        // The extra entry lies past the vocabulary, as a workspace's spare rows do.
        let top = Qwen3VL.Generator.largest(k, of: logits + [99], vocabulary: count, dividedBy: 0.7)
        #expect(top.map { $0.index } == sorted.prefix(k).map { $0.index })
    }
}
