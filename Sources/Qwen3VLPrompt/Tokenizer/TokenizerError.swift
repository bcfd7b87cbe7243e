extension Qwen3VL {
    /// An error from loading tokenizer files.
    ///
    /// The message is one line naming the file and what is wrong with it, because the fix is usually
    /// "re-download that file".
    public struct TokenizerError: Error, Hashable, Sendable, CustomStringConvertible {
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            let name: String
            /// A file the tokenizer needs is not in the folder, or cannot be read.
            public static let missingFile = Code(name: "missing tokenizer file")
            /// A file is not in the expected format, or its entries contradict each other.
            public static let invalidFile = Code(name: "invalid tokenizer file")
            public var description: String { name }
        }

        public let code: Code
        /// One line that says what went wrong, for a person.
        public let message: String

        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }

        public var description: String { message }
    }
}
