/// An error from decoding, encoding or converting an image.
public struct ImagingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let unsupportedPixelFormat = Code(name: "unsupported pixel format")
        public static let truncated = Code(name: "truncated data")
        public static let invalidPNG = Code(name: "invalid PNG")
        public static let io = Code(name: "file error")
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
