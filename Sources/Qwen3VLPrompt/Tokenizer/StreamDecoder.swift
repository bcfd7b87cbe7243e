extension Qwen3VL.Tokenizer {
    /// Turns generated ids into text one id at a time.
    ///
    /// A token can end in the middle of a multi-byte UTF-8 character (an emoji or a CJK character is often
    /// split over two tokens). Decoding each token on its own would print U+FFFD for both halves, so the
    /// decoder holds back an incomplete trailing sequence until the bytes that complete it arrive.
    public struct StreamDecoder: Sendable {
        private let tokenizer: Qwen3VL.Tokenizer
        private let skipSpecialTokens: Bool
        /// Bytes of a character that is not complete yet (at most three).
        private var pending: [UInt8] = []

        public init(tokenizer: Qwen3VL.Tokenizer, skipSpecialTokens: Bool = false) {
            self.tokenizer = tokenizer
            self.skipSpecialTokens = skipSpecialTokens
        }

        /// Adds one id and returns the text it completes, which may be empty.
        public mutating func append(_ id: Int32) -> String {
            tokenizer.appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &pending)
            let held = incompleteSuffixLength(pending)
            let text = String(decoding: pending[..<(pending.count - held)], as: UTF8.self)
            pending.removeFirst(pending.count - held)
            return text
        }

        /// Returns whatever is still held back (as U+FFFD, since it never completed) and empties the decoder.
        public mutating func finish() -> String {
            defer { pending.removeAll() }
            return String(decoding: pending, as: UTF8.self)
        }

        /// How many bytes at the end of `bytes` begin a UTF-8 sequence that needs more bytes to complete.
        private func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
            guard !bytes.isEmpty else { return 0 }
            for length in 1...min(3, bytes.count) {
                let byte = bytes[bytes.count - length]
                if byte < 0x80 { return 0 }  // ASCII: nothing is pending.
                if byte >= 0xC0 {  // A lead byte: complete only if all its continuation bytes are here.
                    let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                    return needed > length ? length : 0
                }
            }
            return 0  // Continuation bytes without a lead within reach are invalid; let them be replaced.
        }
    }
}
