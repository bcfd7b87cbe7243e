/// An error from the X11 desktop layer: what failed, in one line a person can act on.
///
/// Shaped like swift-nio's `FileSystemError`: an extensible `code`, a `message`, an optional
/// underlying `cause` and the source `location` that raised it.
public struct DesktopError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// No X display to connect to (`$DISPLAY` unset, or a Wayland session without XWayland).
        public static let noDisplay = Code(name: "no display")
        /// The X server refused the connection or is not running.
        public static let connectionFailed = Code(name: "connection failed")
        /// The server lacks an extension this operation needs (XTEST, RandR).
        public static let missingExtension = Code(name: "missing extension")
        /// The server answered a request with an X protocol error.
        public static let protocolError = Code(name: "X protocol error")
        /// A rectangle, point, monitor or key that does not exist on this display.
        public static let invalidArgument = Code(name: "invalid argument")
        /// A key name, or a character, that cannot be typed.
        public static let untypable = Code(name: "untypable")
        /// The caller asked input to stop (Ctrl-C); everything pressed was released.
        public static let cancelled = Code(name: "cancelled")
        /// Starting or talking to a helper process (Xvfb) failed.
        public static let process = Code(name: "process")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?
    public let location: SourceLocation

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        location = SourceLocation(file: file, line: line)
    }

    public var description: String { message }

    /// Where an error was raised.
    public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public var description: String { "\(file):\(line)" }
    }
}

/// An X protocol error as the server reported it (`XErrorEvent`).
public struct XProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text `XGetErrorText` gives, e.g. "BadMatch (invalid parameter attributes)".
    public let text: String
    public let errorCode: UInt8
    public let requestCode: UInt8
    public let minorCode: UInt8
    public var description: String { "\(text) (request \(requestCode).\(minorCode))" }
}
