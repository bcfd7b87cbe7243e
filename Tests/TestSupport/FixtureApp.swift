public import Desktop
public import Foundation
public import Imaging
public import Logging

/// The fixture X11 app (`Fixtures/FixtureApp`) running on a virtual display, and its event log.
public final class FixtureApp {
    public let process: ChildProcess
    public let logURL: URL
    /// The `ready` line: window origin in root pixels, size, and the widgets in window pixels.
    public let ready: FixtureEvent

    /// Starts the app at `origin` and waits for its `ready` line.
    public init(on display: VirtualDisplay, origin: Point = Point(x: 100, y: 80), focus: Bool = true, extraArguments: [String] = []) throws {
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString).jsonl")
        var arguments = ["--log", logURL.path, "--x", "\(origin.x)", "--y", "\(origin.y)"]
        if !focus { arguments.append("--no-focus") }
        arguments += extraArguments
        process = try display.launch(TestProducts.url(of: "qwen-agent-fixture"), arguments: arguments)
        let log = logURL
        let lines = try Self.waitFor(log, timeout: 20) { $0.contains { $0.event == "ready" } }
        ready = lines.first { $0.event == "ready" }!
    }

    deinit {
        process.terminate()
        try? FileManager.default.removeItem(at: logURL)
    }

    /// The window's top-left corner in root pixels.
    public var origin: Point { Point(x: ready.x!, y: ready.y!) }

    /// A widget's rectangle in root pixels.
    public func widget(_ name: String) -> (rect: Rect, info: FixtureWidget) {
        guard let widget = ready.widgets?.first(where: { $0.name == name }) else { fatalError("fixture has no widget \(name)") }
        return (Rect(x: origin.x + widget.x, y: origin.y + widget.y, width: widget.width, height: widget.height), widget)
    }

    /// Every event logged so far.
    public func events() -> [FixtureEvent] { Self.read(logURL) }

    /// Waits until `condition` holds for the log (or `timeout` seconds pass) and returns the log.
    @discardableResult
    public func waitForEvents(timeout: Double = 10, _ condition: ([FixtureEvent]) -> Bool) throws -> [FixtureEvent] {
        try Self.waitFor(logURL, timeout: timeout, condition)
    }

    /// The text field's latest value.
    public func fieldValue() -> String? { events().last { $0.event == "field" }?.value }

    private static func read(_ url: URL) -> [FixtureEvent] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // A line still being written is skipped until it is complete.
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(FixtureEvent.self, from: Data($0)) }
    }

    private static func waitFor(_ url: URL, timeout: Double, _ condition: ([FixtureEvent]) -> Bool) throws -> [FixtureEvent] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let lines = read(url)
            if condition(lines) { return lines }
            if Date() > deadline { throw FixtureTimeout(log: lines.suffix(12).map(\.summary).joined(separator: "\n")) }
            usleep(20_000)
        }
    }
}

public struct FixtureTimeout: Error, CustomStringConvertible {
    public let log: String
    public init(log: String) { self.log = log }
    public var description: String { "timed out waiting for fixture events; last events:\n\(log)" }
}

/// One line of the fixture's JSON event log.
public struct FixtureEvent: Decodable, Sendable {
    public let event: String
    public let button: Int?
    public let x: Int?
    public let y: Int?
    public let width: Int?
    public let height: Int?
    public let rootX: Int?
    public let rootY: Int?
    public let state: UInt?
    public let time: UInt?
    public let widget: String?
    /// The screen a `screen` event announces (login scenario).
    public let name: String?
    public let keycode: Int?
    public let keysym: UInt?
    public let keysymName: String?
    public let text: String?
    public let value: String?
    public let widgets: [FixtureWidget]?

    public var summary: String {
        [event, button.map { "button=\($0)" }, rootX.map { "root=(\($0),\(rootY ?? -1))" }, keysymName, text, value,
         widget].compactMap { $0 }.joined(separator: " ")
    }
}

public struct FixtureWidget: Decodable, Sendable {
    public let name: String
    public let kind: String
    public let x: Int
    public let y: Int
    public let width: Int
    public let height: Int
    public let color: String?
    public let label: String?
}

/// Executables built by this package, found next to the running test bundle.
public enum TestProducts {
    public static var directory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    public static func url(of product: String) -> URL { directory.appendingPathComponent(product) }
}

/// A logger for tests: warnings and worse, to stderr.
public let testLogger: Logger = {
    var logger = Logger(label: "qwen-agent.tests")
    logger.logLevel = .warning
    return logger
}()

/// Runs `body` with a fresh Xvfb, stopped afterwards whatever happens.
public func withVirtualDisplay<T>(size: Size = Size(width: 1280, height: 800), depth: Int = 24,
                                  _ body: (VirtualDisplay) throws -> T) throws -> T {
    let display = try VirtualDisplay(size: size, depth: depth, logger: testLogger)
    defer { display.stop() }
    return try body(display)
}

/// Polls `condition` every 20 ms until it holds; throws after `timeout` seconds.
public func waitUntil(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while try !condition() {
        guard Date() < deadline else { throw FixtureTimeout(log: "gave up waiting until \(what)") }
        usleep(20_000)
    }
}
