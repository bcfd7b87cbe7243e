internal import CX11
public import Foundation
public import Imaging
public import Logging
import Synchronization

/// A connection to an X server: the one owner of an Xlib `Display *`.
///
/// Xlib is not thread-safe, so a `Display` is not `Sendable`: keep it, and everything made from it
/// (capturer, input), on one thread or inside one actor.
public final class Display {
    /// The display name used to connect, e.g. ":0".
    public let name: String
    let raw: OpaquePointer
    let screen: Int32
    let root: UInt
    let logger: Logger

    /// Opens a connection to `name`, or to `DISPLAY` in `environment` when `name` is nil.
    ///
    /// Corresponding Xlib call: `XOpenDisplay` (through ``Xlib``). Every failure is a ``DesktopError`` whose message
    /// says what to do: no `$DISPLAY`, a Wayland session without XWayland, a refused connection.
    public init(name: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                logger: Logger) throws(DesktopError) {
        let resolved = name ?? environment["DISPLAY"] ?? ""
        guard !resolved.isEmpty else {
            if let wayland = environment["WAYLAND_DISPLAY"], !wayland.isEmpty {
                throw DesktopError(
                    .noDisplay,
                    "this is a Wayland session (WAYLAND_DISPLAY=\(wayland)) without an X display: "
                        + "enable XWayland and set DISPLAY (often DISPLAY=:0), or pass --display")
            }
            throw DesktopError(
                .noDisplay,
                "no X display: $DISPLAY is not set; pass --display NAME, or start a virtual one "
                    + "(Xvfb :99 -screen 0 1920x1080x24 & export DISPLAY=:99)")
        }
        XErrorTrap.installHandlers()
        guard let raw = Xlib.openDisplay(resolved) else {
            throw DesktopError(
                .connectionFailed,
                "cannot connect to X display '\(resolved)': no X server is running there or it refused access "
                    + "(check `xdpyinfo -display \(resolved)`, and XAUTHORITY or `xhost` for permission)")
        }
        self.name = resolved
        self.raw = raw
        screen = XDefaultScreen(raw)
        root = XRootWindow(raw, screen)
        self.logger = logger
        logger.debug("connected to X display", metadata: ["display": "\(resolved)", "vendor": "\(vendor)"])
    }

    deinit {
        XCloseDisplay(raw)
        XErrorTrap.clear(raw)
    }

    /// The server's vendor string, e.g. "The X.Org Foundation".
    public var vendor: String { XServerVendor(raw).map { String(cString: $0) } ?? "unknown" }

    /// The root window's current size (asked from the server, so it follows RandR resizes).
    ///
    /// Corresponding Xlib call: `XGetGeometry` on the root window.
    public func screenSize() throws(DesktopError) -> Size {
        var rootReturn: UInt = 0
        var x: Int32 = 0, y: Int32 = 0
        var width: UInt32 = 0, height: UInt32 = 0, border: UInt32 = 0, depth: UInt32 = 0
        let status = try checkedReply("XGetGeometry") {
            XGetGeometry(raw, root, &rootReturn, &x, &y, &width, &height, &border, &depth)
        }
        guard status != 0 else { throw DesktopError(.protocolError, "cannot read the root window's geometry") }
        return Size(width: Int(width), height: Int(height))
    }

    /// The whole root window as a rectangle at (0, 0).
    public func screenBounds() throws(DesktopError) -> Rect {
        let size = try screenSize()
        return Rect(x: 0, y: 0, width: size.width, height: size.height)
    }

    /// Whether the server has the named extension (e.g. "XTEST", "MIT-SHM", "RANDR").
    ///
    /// Corresponding Xlib call: `XQueryExtension`.
    public func hasExtension(_ extensionName: String) -> Bool {
        var opcode: Int32 = 0, event: Int32 = 0, error: Int32 = 0
        return XQueryExtension(raw, extensionName, &opcode, &event, &error) != 0
    }

    /// Sends queued requests without waiting. Corresponding Xlib call: `XFlush`.
    func flush() { XFlush(raw) }

    /// Like ``checked(_:_:)`` for a request that waits for its own reply (`XGetGeometry`, `XShmGetImage`,
    /// ...): Xlib reads the reply only after every error of that request and the ones before it, so
    /// the extra `XSync` round trip is not needed.
    func checkedReply<T>(_ request: String, _ body: () -> T) throws(DesktopError) -> T {
        XErrorTrap.clear(raw)
        let result = body()
        if let error = XErrorTrap.take(raw) {
            throw DesktopError(.protocolError, "\(request) failed: \(error)", cause: error)
        }
        return result
    }

    /// Runs `body`, waits for the server to process it (`XSync`), and turns any X protocol error it
    /// caused into a thrown ``DesktopError`` instead of Xlib's default of exiting the process.
    func checked<T>(_ request: String, _ body: () -> T) throws(DesktopError) -> T {
        XErrorTrap.clear(raw)
        let result = body()
        XSync(raw, 0)
        if let error = XErrorTrap.take(raw) {
            throw DesktopError(.protocolError, "\(request) failed: \(error)", cause: error)
        }
        return result
    }
}

/// The Xlib calls made without an open connection (and opening one), behind one switch.
///
/// The agent uses Xlib from several threads, each on its own connection (the abort-key watcher,
/// the recorder, parallel tests), and Xlib guards its process-wide state (the keysym database,
/// connection set-up) only after `XInitThreads`, which has to come before any other Xlib call.
enum Xlib {
    private static let threadsInitialized: Void = { _ = XInitThreads() }()

    /// Corresponding Xlib call: `XOpenDisplay`.
    static func openDisplay(_ name: String) -> OpaquePointer? {
        _ = threadsInitialized
        return XOpenDisplay(name)
    }

    /// Corresponding Xlib call: `XConvertCase`.
    static func cases(of keysym: UInt) -> (lower: UInt, upper: UInt) {
        _ = threadsInitialized
        var lower: UInt = 0, upper: UInt = 0
        XConvertCase(keysym, &lower, &upper)
        return (lower, upper)
    }
}

/// Routes Xlib's process-wide error callbacks to the `Display` that caused them.
///
/// Xlib's default error handler prints and exits; this one records the error for `Display.checked`.
/// A lost connection cannot be recovered in Xlib, so the I/O handler says so in one line and exits.
enum XErrorTrap {
    private static let pending = Mutex<[UInt: XProtocolError]>([:])
    private static let installed: Void = {
        XSetErrorHandler { display, event in
            guard let display, let event else { return 0 }
            var text = [CChar](repeating: 0, count: 256)
            XGetErrorText(display, Int32(event.pointee.error_code), &text, Int32(text.count))
            let error = XProtocolError(
                text: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), errorCode: event.pointee.error_code,
                requestCode: event.pointee.request_code, minorCode: event.pointee.minor_code)
            XErrorTrap.record(error, for: display)
            return 0
        }
        XSetIOErrorHandler { display in
            let name = display.flatMap { XDisplayString($0) }.map { String(cString: $0) } ?? "?"
            let message = "lost the connection to X display '\(name)' (the X server closed or crashed)"
            // Several connections can notice at once: the first says it and ends the process; the others
            // wait for that, so that none exits before the line and the last words are out.
            guard !XErrorTrap.dying.exchange(true, ordering: .acquiringAndReleasing) else {
                while true { pause() }
            }
            FileHandle.standardError.write(Data("qwen-agent: \(message)\n".utf8))
            for words in XErrorTrap.lastWords.withLock({ Array($0.values) }) { words(message) }
            exit(ExitStatus.displayUnavailable)
        }
    }()

    private static let dying = Atomic(false)
    fileprivate static let lastWords = Mutex<[Int: @Sendable (String) -> Void]>([:])
    fileprivate static let nextWords = Atomic(0)

    static func installHandlers() { _ = installed }

    static func record(_ error: XProtocolError, for display: OpaquePointer) {
        pending.withLock { pending in
            if pending[UInt(bitPattern: display)] == nil { pending[UInt(bitPattern: display)] = error }
        }
    }

    static func clear(_ display: OpaquePointer) { _ = take(display) }

    static func take(_ display: OpaquePointer) -> XProtocolError? {
        pending.withLock { $0.removeValue(forKey: UInt(bitPattern: display)) }
    }
}

/// What to do when an X connection is lost, before the process exits: Xlib's I/O error handler must
/// not return, so a run's session gets its outcome line here or never.
public struct LastWords: ~Copyable, Sendable {
    private let key: Int

    /// Registers `body`, called with the one-line reason on the thread that noticed the loss.
    public init(_ body: @escaping @Sendable (_ reason: String) -> Void) {
        key = XErrorTrap.nextWords.add(1, ordering: .relaxed).newValue
        XErrorTrap.lastWords.withLock { $0[key] = body }
    }

    deinit { XErrorTrap.lastWords.withLock { _ = $0.removeValue(forKey: key) } }
}

/// Exit statuses shared by the tool and the libraries (BSD `sysexits.h` values where one fits).
public enum ExitStatus {
    /// A command-line usage error (`EX_USAGE`).
    public static let usage: Int32 = 64
    /// Bad input data: an unreadable PNG, an untypable key (`EX_DATAERR`).
    public static let dataError: Int32 = 65
    /// No X display, or the connection was refused or lost (`EX_UNAVAILABLE`).
    public static let displayUnavailable: Int32 = 69
    /// A file could not be written (`EX_CANTCREAT`).
    public static let cannotCreate: Int32 = 73
    /// Interrupted by the user (128 + SIGINT, as shells report it).
    public static let interrupted: Int32 = 130
}
