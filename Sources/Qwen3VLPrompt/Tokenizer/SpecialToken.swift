extension Qwen3VL {
    /// The ids of the Qwen3 added tokens the engine refers to by name (`tokenizer_config.json`,
    /// `added_tokens_decoder`). They are the same in every Qwen3 / Qwen3-VL checkpoint, so code that builds
    /// prompts or stops generation can use them without a loaded tokenizer. Kept in this one place; the
    /// vision tokens (`<|image_pad|>`, `<|vision_start|>`, …) come from ``Configuration`` instead.
    public enum SpecialToken {
        /// `<|endoftext|>`: padding, and a stop token.
        public static let endOfText: Int32 = 151643
        /// `<|im_start|>`: starts a chat turn.
        public static let imStart: Int32 = 151644
        /// `<|im_end|>`: ends a chat turn; the primary stop token.
        public static let imEnd: Int32 = 151645
        /// `<tool_call>` (not special: kept by `skipSpecialTokens`).
        public static let toolCallStart: Int32 = 151657
        /// `</tool_call>` (not special).
        public static let toolCallEnd: Int32 = 151658
        /// `<think>` (not special): opens the Thinking model's reasoning.
        public static let thinkStart: Int32 = 151667
        /// `</think>` (not special): closes the reasoning.
        public static let thinkEnd: Int32 = 151668

        /// The tokens that end generation.
        public static let stopTokens: Set<Int32> = [imEnd, endOfText]
    }
}
