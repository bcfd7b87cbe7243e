public import ArgumentParser
import Agent
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

/// Runs `body`; a `DesktopError` or `ImagingError` becomes `qwen-agent: message` on stderr and the
/// exit status that says what kind of failure it was (see `qwen-agent --help`).
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as DesktopError {
        try fail(error.message, status: exitStatus(for: error.code))
    } catch let error as ImagingError {
        try fail(error.message, status: error.code == .io ? ExitStatus.cannotCreate : ExitStatus.dataError)
    }
}

/// The same for async work.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as SessionError {
        try fail(error.message, status: ExitStatus.cannotCreate)
    } catch let error as DesktopError {
        try fail(error.message, status: exitStatus(for: error.code))
    } catch let error as ImagingError {
        try fail(error.message, status: error.code == .io ? ExitStatus.cannotCreate : ExitStatus.dataError)
    }
}

func fail(_ message: String, status: Int32) throws -> Never {
    FileHandle.standardError.write(Data("qwen-agent: \(message)\n".utf8))
    throw ExitCode(status)
}

private func exitStatus(for code: DesktopError.Code) -> Int32 {
    switch code {
    case .noDisplay, .connectionFailed, .missingExtension: ExitStatus.displayUnavailable
    case .invalidArgument: ExitStatus.usage
    case .untypable: ExitStatus.dataError
    case .cancelled: ExitStatus.interrupted
    default: 1
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
