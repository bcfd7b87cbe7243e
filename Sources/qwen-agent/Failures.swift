import Agent
import AgentCore
import ArgumentParser
import Desktop
import Foundation
import Imaging
import Keys
import Models
import Qwen3VL
import Qwen3VLPrompt

extension ExitStatus {
    /// The model could not be used: its server was unreachable or refused the request, a step timed
    /// out, or a reply broke the protocol (`EX_TEMPFAIL`: trying again may work).
    static let modelFailed: Int32 = 75

    /// The table every command follows, for `qwen-agent --help` (README, "Errors", says the same).
    static let table = """
        Exit statuses: 0 success; 64 bad arguments (including a point or region off the screen); 65 bad \
        input data (an unknown key name, text that cannot be typed, a file that cannot be read); 69 no X \
        display, refused connection or missing X extension; 73 an output file or session could not be \
        written (also: a session folder that already holds a run); 75 the model failed (server unreachable or \
        refusing, step timed out); 130 interrupted (Ctrl-C; every pressed key and button is released \
        first); 1 anything else. `qwen-agent TASK` adds the outcomes 1–4 (see `qwen-agent run --help`).
        """
}

/// A failure as the tool reports it: one line for stderr and the exit status.
struct Failure: Error {
    let message: String
    let status: Int32

    init(_ message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    /// The one mapping from an error of the libraries to the tool's exit status; nil for errors the
    /// libraries do not raise (argument parsing, exit codes already reported).
    init?(_ error: any Error) {
        switch error {
        case let failure as Failure:
            self = failure
        case let error as DesktopError:
            self.init(error.message, status: Self.status(for: error.code))
        case let error as KeyChordError:
            self.init(error.message, status: ExitStatus.usage)
        case let error as ImagingError:
            // The PNG coder reads only files the commands checked first, so a file error is a write.
            self.init(error.message, status: error.code == .io ? ExitStatus.cannotCreate : ExitStatus.dataError)
        case let error as SessionError:
            self.init(error.message, status: error.kind == .unreadable ? ExitStatus.dataError : ExitStatus.cannotCreate)
        case let error as ProfileError:
            self.init(error.message, status: ExitStatus.usage)
        case let error as ModelError:
            self.init("the model failed: \(error.message)", status: ExitStatus.modelFailed)
        case WaitInterrupted.timedOut(let message):
            self.init(message, status: ExitStatus.modelFailed)
        case WaitInterrupted.aborted:
            self.init("interrupted; every pressed key and button was released", status: ExitStatus.interrupted)
        case let error as Qwen3VL.WeightsError:
            self.init(error.message, status: ExitStatus.dataError)
        case let error as Qwen3VL.TokenizerError:
            self.init(error.message, status: ExitStatus.dataError)
        case let error as Qwen3VL.TemplateError:
            self.init(error.message, status: ExitStatus.dataError)
        default:
            return nil
        }
    }

    private static func status(for code: DesktopError.Code) -> Int32 {
        switch code {
        case .noDisplay, .connectionFailed, .missingExtension: ExitStatus.displayUnavailable
        case .invalidArgument: ExitStatus.usage
        case .untypable: ExitStatus.dataError
        case .cancelled: ExitStatus.interrupted
        default: 1
        }
    }
}

/// Runs `body`; an error of the libraries becomes `qwen-agent: message` on stderr and its exit status.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        guard let failure = Failure(error) else { throw error }
        try fail(failure.message, status: failure.status)
    }
}

/// The same for async work.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        guard let failure = Failure(error) else { throw error }
        try fail(failure.message, status: failure.status)
    }
}

func fail(_ message: String, status: Int32) throws -> Never {
    writeErrorLine(message)
    throw ExitCode(status)
}

/// `qwen-agent: message` on stderr.
func writeErrorLine(_ message: String) {
    FileHandle.standardError.write(Data("qwen-agent: \(message)\n".utf8))
}
