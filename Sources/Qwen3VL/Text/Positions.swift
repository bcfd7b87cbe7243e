public import Qwen3VLPrompt
extension Qwen3VL {
    /// The three position streams (t, h, w) of a prompt, as transformers' `get_rope_index` builds them.
    ///
    /// Text tokens count up on all three axes. The pads of an image (a run of `<|image_pad|>`) take
    /// `(s, s + row, s + column)` over the merged grid, where `s` is where the first pad would have been
    /// as text; the text after it continues at `s + max(rows, columns)`. `delta` (the largest position
    /// + 1 − the token count) is added to the cache index of every token decoded afterwards.
    public static func positionIDs(for tokens: [Int32], imageGrids: [Grid], imagePad: Int32)
        -> (positions: [[Int]], delta: Int)
    {
        var positions: [[Int]] = []
        positions.reserveCapacity(tokens.count)
        var next = 0, grids = imageGrids.makeIterator()
        var index = 0
        while index < tokens.count {
            guard tokens[index] == imagePad, let grid = grids.next() else {
                positions.append([next, next, next])
                next += 1
                index += 1
                continue
            }
            let rows = grid.mergedRows, columns = grid.mergedColumns
            for frame in 0..<grid.t {
                for row in 0..<rows {
                    for column in 0..<columns { positions.append([next + frame, next + row, next + column]) }
                }
            }
            index += grid.tokens
            next += max(rows, columns)
        }
        let largest = positions.lazy.map { $0.max() ?? 0 }.max() ?? -1
        return (Array(positions.prefix(tokens.count)), largest + 1 - tokens.count)
    }

    /// What the vision tower produced for the images of a prompt, to be spliced into the text.
    public struct VisualInput: Sendable {
        /// One row of `hidden_size` floats per `<|image_pad|>`, in order.
        public var embeddings: [Float]
        /// DeepStack features: entry i is added after decoder layer i at the image positions.
        public var deepstack: [[Float]]

        public init(embeddings: [Float] = [], deepstack: [[Float]] = []) {
            self.embeddings = embeddings
            self.deepstack = deepstack
        }

        /// The rows after the first `rows` (of `width` floats), with their DeepStack rows: the visual
        /// input of a prompt's suffix whose first `rows` image pads are already in the cache.
        func dropping(rows: Int, width: Int) -> VisualInput {
            guard rows > 0 else { return self }
            return VisualInput(embeddings: Array(embeddings[(rows * width)...]), deepstack: deepstack.map { Array($0[(rows * width)...]) })
        }

        /// Adds the next image's rows (the vision tower's output) after the ones already here.
        public mutating func append(features: [Float], deepstack taps: [[Float]]) {
            embeddings += features
            if deepstack.isEmpty {
                deepstack = taps
            } else {
                for i in taps.indices { deepstack[i] += taps[i] }
            }
        }
    }
}
