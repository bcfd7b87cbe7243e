extension Qwen3VL {
    /// An error from reading a model folder: its config files or its safetensors weights.
    ///
    /// Every message is one line that names the file (and the tensor or key, when there is one) and what
    /// is wrong with it, because the usual fix is "re-download that file" and the user needs to know which.
    public struct WeightsError: Error, Hashable, Sendable, CustomStringConvertible {
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            let name: String
            /// The file could not be opened, read or mapped.
            public static let io = Code(name: "file error")
            /// The file ends before the bytes its header promises.
            public static let truncated = Code(name: "truncated file")
            /// The safetensors header is not valid JSON, or describes tensors that do not fit the file.
            public static let invalidHeader = Code(name: "invalid safetensors header")
            /// A tensor is stored in a dtype the engine does not read (it reads F32, F16 and BF16).
            public static let unsupportedDType = Code(name: "unsupported dtype")
            /// A tensor has a different shape from the one the model needs.
            public static let shapeMismatch = Code(name: "shape mismatch")
            /// The model folder has no tensor of the requested name.
            public static let missingTensor = Code(name: "missing tensor")
            /// A config file is missing, not JSON, or lacks a required key.
            public static let invalidConfig = Code(name: "invalid config")
            /// config.json describes a model other than Qwen3-VL.
            public static let wrongModelType = Code(name: "wrong model type")
            /// The requested precision needs CPU instructions this machine lacks.
            public static let unsupportedPrecision = Code(name: "unsupported precision")
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
