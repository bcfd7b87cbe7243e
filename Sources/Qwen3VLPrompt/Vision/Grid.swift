extension Qwen3VL {
    /// An image's patch grid as the processor cut it (`image_grid_thw`): frames of temporal patches,
    /// rows and columns of patches, and the merge size whose square of patches becomes one token.
    public struct Grid: Hashable, Sendable, CustomStringConvertible {
        /// Frames (temporal patches).
        public let t: Int
        /// Rows of patches.
        public let h: Int
        /// Columns of patches.
        public let w: Int
        /// Patches per side of the square the vision merger joins into one token (`merge_size`).
        public let mergeSize: Int

        public init(t: Int, h: Int, w: Int, mergeSize: Int) {
            precondition(h % mergeSize == 0 && w % mergeSize == 0, "a \(t)x\(h)x\(w) grid is not a multiple of the merge size \(mergeSize)")
            self.t = t
            self.h = h
            self.w = w
            self.mergeSize = mergeSize
        }

        /// Patches the vision tower reads.
        public var patches: Int { t * h * w }
        /// Rows of tokens after merging.
        public var mergedRows: Int { h / mergeSize }
        /// Columns of tokens after merging.
        public var mergedColumns: Int { w / mergeSize }
        /// The image's `<|image_pad|>` tokens in the prompt: one per merged square.
        public var tokens: Int { t * mergedRows * mergedColumns }

        public var description: String { "\(t)x\(h)x\(w)" }
    }
}
