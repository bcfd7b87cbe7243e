public import ArgumentParser
import Desktop
import Dispatch
import Foundation
public import Imaging
import Logging
import Synchronization

/// Options every desktop command shares.
struct DesktopOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("X display to use, e.g. :0.", discussion: "Defaults to $DISPLAY.",
                                            valueName: "name"))
    var display: String?

    @Flag(name: .shortAndLong, help: "Log what happens (connection, capture method, fallbacks) to stderr.")
    var verbose = false

    func makeLogger() -> Logger {
        var logger = Logger(label: "qwen-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }

    /// Opens the display and runs `body`, turning library errors into one line on stderr and an exit status.
    func withDisplay(_ body: (Display, Logger) throws -> Void) throws {
        let logger = makeLogger()
        try reportingFailures {
            let display = try Display(name: display, logger: logger)
            try body(display, logger)
        }
    }

    /// An input controller whose operations stop, releasing everything held, on Ctrl-C or SIGTERM.
    func makeInput(_ display: Display) throws -> InputController {
        Interruption.install()
        return try InputController(display: display, isCancelled: { Interruption.requested })
    }
}

/// Ctrl-C and SIGTERM, noticed between synthetic events instead of killing the process mid-chord.
enum Interruption {
    private static let flag = Atomic<Bool>(false)
    /// The signal sources, kept alive for the life of the process once installed.
    nonisolated(unsafe) private static let sources: [any DispatchSourceSignal] = [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { Interruption.flag.store(true, ordering: .relaxed) }
        source.resume()
        return source
    }

    /// Starts watching for the signals (idempotent).
    static func install() { _ = sources }

    static var requested: Bool { flag.load(ordering: .relaxed) }
}

/// A point written `X,Y` or `X Y`.
extension Point: ExpressibleByArgument {
    public init?(argument: String) {
        let parts = argument.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2 else { return nil }
        self.init(x: parts[0], y: parts[1])
    }
}

/// A rectangle written `X,Y,W,H`.
extension Rect: ExpressibleByArgument {
    public init?(argument: String) {
        let parts = argument.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, parts[2] > 0, parts[3] > 0 else { return nil }
        self.init(x: parts[0], y: parts[1], width: parts[2], height: parts[3])
    }
}
